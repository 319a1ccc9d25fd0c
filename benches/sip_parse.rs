//! SIP message layer microbenchmarks: parse a typical INVITE with SDP and read the fields a
//! transaction layer needs, and serialise a response (numbers go to docs/PERFORMANCE.md).

use criterion::{black_box, criterion_group, criterion_main, Criterion};

use branchline::core::sip::msg::{response_to, Message};

/// A softphone-style INVITE: two Vias, Route, full dialog headers and a 2-stream SDP offer.
const HEAD: &str = "INVITE sip:7001@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.41:5060;branch=z9hG4bK-524287-1---8a1b2c3d4e5f6071;rport\r\n\
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK3f2e1d0c;received=198.51.100.7\r\n\
Max-Forwards: 69\r\n\
Route: <sip:edge.example.com;lr>\r\n\
Contact: <sip:6001@192.0.2.41:5060;transport=udp>\r\n\
To: <sip:7001@pbx.example.com>\r\n\
From: \"Agent 6001\" <sip:6001@pbx.example.com>;tag=8b2f1c07\r\n\
Call-ID: Zjk1ZDg0MzI3YjE5NmEwNzA0YWM5N2I2ZmJmYjQ3ZDk.\r\n\
CSeq: 2 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Supported: replaces, norefersub, timer\r\n\
User-Agent: Desk Phone 5.1.2\r\n\
Allow-Events: talk, hold, conference, refer\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {len}\r\n\
\r\n";

/// Its SDP offer.
const SDP: &str = "v=0\r\n\
o=- 1700000000 1700000001 IN IP4 192.0.2.41\r\n\
s=Desk Phone\r\n\
c=IN IP4 192.0.2.41\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 9 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:9 G722/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtcp:40001\r\n";

fn invite() -> Vec<u8> {
    let mut v = HEAD.replace("{len}", &SDP.len().to_string()).into_bytes();
    v.extend_from_slice(SDP.as_bytes());
    v
}

fn bench(c: &mut Criterion) {
    let bytes = invite();
    let invite: &[u8] = &bytes;
    if let Err(e) = Message::parse(invite) {
        panic!("bench input must be valid: {e}");
    }

    c.bench_function("parse_invite_with_sdp", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(invite)).expect("valid");
            black_box(m.headers().len());
        })
    });

    c.bench_function("parse_invite_and_read_call_id_cseq_top_via_from_tag", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(invite)).expect("valid");
            let call_id = m.call_id().expect("call-id");
            let cseq = m.cseq().expect("cseq");
            let via = m.top_via().expect("via");
            let from = m.from().expect("from");
            black_box((
                call_id.len(),
                cseq.seq,
                via.branch().map(str::len),
                from.tag().map(str::len),
            ));
        })
    });

    let parsed = Message::parse(invite).expect("valid");
    let resp = response_to(&parsed, 180, "Ringing", Some("a6c85cf"));
    let mut out = Vec::with_capacity(1024);
    c.bench_function("serialise_180_response", |b| {
        b.iter(|| {
            out.clear();
            black_box(&resp).write_to(&mut out);
            black_box(out.len());
        })
    });

    c.bench_function("build_and_serialise_180_response", |b| {
        b.iter(|| {
            let r = response_to(black_box(&parsed), 180, "Ringing", Some("a6c85cf"));
            black_box(r.to_bytes().len());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
