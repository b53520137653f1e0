# Makes text-protocols.pcap: SMTP, FTP, RTSP, WHOIS and HTTP segments (checksums valid)
# for the text encoder; the .tcpdump-*.txt files beside it are tcpdump 4.99.3 output.
import struct
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16; return (~s)&0xffff
def pkt(sp,dp,payload,seq=1000,flags=0x18):
    tcp=struct.pack('!HHIIBBHHH',sp,dp,seq,5000,5<<4,flags,1000,0,0)+payload
    ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(tcp),1,0,64,6,0,bytes([10,0,0,1]),bytes([10,0,0,2]))
    ip=ip[:10]+struct.pack('!H',csum(ip))+ip[12:]
    ph=bytes([10,0,0,1,10,0,0,2,0,6])+struct.pack('!H',len(tcp))
    tcp=tcp[:16]+struct.pack('!H',csum(ph+tcp))+tcp[18:]
    return b'\0'*6+b'\1'*6+b'\x08\x00'+ip+tcp
msgs=[(3000,25,b'EHLO example.org\r\n'),(25,3000,b'220 mx.example.org ESMTP ready\r\n'),(25,3000,b'250-mx\r\n250 OK\r\n'),
 (3001,21,b'USER anonymous\r\n'),(21,3001,b'331 Please specify the password.\r\n'),(3001,21,b'PASS x\r\n'),(3001,21,b'garbage line\r\n'),
 (3002,554,b'DESCRIBE rtsp://x/y RTSP/1.0\r\nCSeq: 1\r\n\r\n'),(554,3002,b'RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n'),(3003,43,b'example.org\r\n'),(43,3003,b'Domain Name: EXAMPLE.ORG\r\nRegistrar: x\r\n'),
 (3004,80,b'GET /a HTTP/1.1\r\nHost: x\r\n\r\n'),(3004,25,b'no newline at all'),(3004,21,b'220'),(3005,21,b'\x01\x02binary\r\n')]
out=struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1)
for i,(s,d,p) in enumerate(msgs):
    f=pkt(s,d,p,seq=1000+i)
    out+=struct.pack('<IIII',1700000000+i,0,len(f),len(f))+f
open('text-protocols.pcap','wb').write(out)
