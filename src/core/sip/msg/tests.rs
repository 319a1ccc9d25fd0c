//! Unit tests for the message layer: round trips, header forms, framing, answers and UAS checks.

use std::borrow::Cow;

use super::*;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n\
Via: SIP/2.0/TCP [2001:db8::10]:5070;branch=z9hG4bKnashds8;received=2001:db8::99\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>, \"Second, one\" <sip:a2@h;lr>;q=0.5\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn invite() -> Message<'static> {
    Message::parse(INVITE.as_bytes()).expect("valid INVITE")
}

#[test]
fn typed_accessors_read_a_plain_invite_without_copying() {
    let m = invite();
    assert!(m.is_request());
    assert_eq!(m.method(), Some(&Method::Invite));
    assert!(matches!(m.call_id(), Ok(Cow::Borrowed(_))));
    assert_eq!(
        m.cseq(),
        Ok(CSeq {
            seq: 314159,
            method: Method::Invite
        })
    );
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("Alice A."));
    assert!(matches!(from.uri.host, Cow::Borrowed(_)));
    assert_eq!(from.tag(), Some("1928301774"));
    assert_eq!(m.to().unwrap().display.as_deref(), Some("Bob"));
    assert_eq!(m.to().unwrap().tag(), None);
    assert_eq!(m.max_forwards(), Ok(Some(70)));
    assert_eq!(m.expires(), Ok(None));
    assert_eq!(m.body, b"v=0\n");
    let Contacts::List(c) = m.contacts().unwrap() else {
        panic!("list")
    };
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].display.as_deref(), Some("Second, one"));
    assert_eq!(c[1].params.get("q"), Some(Some("0.5")));
    assert!(c[1].uri.params.has("lr"));
}

#[test]
fn ipv6_via_keeps_brackets_and_reads_rport_and_received() {
    let m = invite();
    let top = m.top_via().unwrap();
    assert_eq!(top.rport(), Some(None));
    assert_eq!(top.branch(), Some("z9hG4bK776asdhds"));
    let v = &m.vias().unwrap()[1];
    assert_eq!(v.host, "[2001:db8::10]");
    assert_eq!(v.port, Some(5070));
    assert_eq!(v.sent_by(), "[2001:db8::10]:5070");
    assert_eq!(v.received(), Some("2001:db8::99"));
    assert_eq!(v.rport(), None);
    assert_eq!(
        v.to_string(),
        "SIP/2.0/TCP [2001:db8::10]:5070;branch=z9hG4bKnashds8;received=2001:db8::99"
    );
}

#[test]
fn compact_and_folded_headers_are_equivalent_to_long_ones() {
    let raw = "OPTIONS sip:x@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP h.example.com\r\n ;branch=z9hG4bKa\r\n\
t: <sip:x@example.com>\r\n\
f: sip:y@example.com;tag=9\r\n\
i: abc@h\r\n\
CSEQ: 1\r\n\tOPTIONS\r\n\
k: timer,\r\n  100rel\r\n\
m: <sip:y@10.0.0.1>\r\n\
l: 0\r\n\r\n";
    let m = Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(m.header("Call-ID").as_deref(), Some("abc@h"));
    assert_eq!(m.header("I").as_deref(), Some("abc@h"));
    assert_eq!(m.header("cseq").as_deref(), Some("1 OPTIONS"));
    assert_eq!(m.header_values("Supported"), vec!["timer", "100rel"]);
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bKa"));
    assert_eq!(m.to().unwrap().uri.to_string(), "sip:x@example.com");
    assert_eq!(m.header("Content-Length").as_deref(), Some("0"));
    assert_eq!(m.header("x-missing"), None);
    assert!(m.headers().iter().any(|h| h.value.contains("\r\n")));
}

#[test]
fn bare_lf_line_ends_are_accepted() {
    let raw = INVITE.replace("\r\n", "\n");
    let m = Message::parse(raw.as_bytes()).unwrap();
    assert_eq!(m.body, b"v=0\n");
    assert_eq!(m.vias().unwrap().len(), 2);
}

#[test]
fn tel_uris_parse_in_request_uri_and_to() {
    let raw = INVITE
        .replace(
            "INVITE sip:bob@biloxi.example.com",
            "INVITE tel:+14085551234",
        )
        .replace(
            "To: Bob <sip:bob@biloxi.example.com>",
            "To: <tel:+14085551234;phone-context=+1>",
        );
    let m = Message::parse(raw.as_bytes()).unwrap();
    let ruri = m.request_uri().unwrap().unwrap();
    assert_eq!(ruri.scheme, "tel");
    assert_eq!(ruri.user, None);
    assert_eq!(ruri.host, "+14085551234");
    assert_eq!(
        m.to().unwrap().uri.params.get("phone-context"),
        Some(Some("+1"))
    );
    assert_eq!(
        uas_checks(&m, &[Method::Invite], &[], &["application/sdp"]),
        Ok(())
    );
}

#[test]
fn header_values_do_not_split_inside_quotes_or_angles() {
    let m = invite();
    let c = m.header_values("m");
    assert_eq!(c.len(), 2);
    assert_eq!(c[1], "\"Second, one\" <sip:a2@h;lr>;q=0.5");
}

#[test]
fn out_message_round_trips_through_the_parser() {
    let mut out = OutMessage::request(Method::Message, "sip:bob@example.com");
    out.push_header("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport");
    out.push_header("Max-Forwards", "70");
    out.push_header("From", "<sip:alice@example.com>;tag=a1");
    out.push_header("To", "<sip:bob@example.com>");
    out.push_header("Call-ID", "rt-1@192.0.2.1");
    out.push_header("CSeq", "7 MESSAGE");
    out.push_header("Content-Length", "999");
    out.set_body(Some("text/plain"), b"hi\0there".to_vec());
    let bytes = out.to_bytes();
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.method(), Some(&Method::Message));
    assert_eq!(m.body, b"hi\0there");
    assert_eq!(m.header("Content-Length").as_deref(), Some("8"));
    assert_eq!(m.header_values("Content-Length").len(), 1);
    assert_eq!(m.content_type().as_deref(), Some("text/plain"));
    assert_eq!(m.cseq().unwrap().seq, 7);
    // And back again: from_message keeps every header and the body.
    let again = OutMessage::from_message(&m);
    assert_eq!(again.to_bytes(), bytes);
    assert_eq!(Message::frame(&bytes), Ok(Some(bytes.len())));
}

#[test]
fn out_message_header_editing_follows_compact_forms() {
    let m = Message::parse(INVITE.as_bytes()).unwrap();
    let mut out = OutMessage::from_message(&m);
    out.prepend_header("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp");
    assert_eq!(
        out.headers()[0].1,
        "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp"
    );
    out.prepend_header("Record-Route", "<sip:proxy.example.com;lr>");
    assert_eq!(out.headers()[0].0, "Record-Route");
    out.push_header("m", "<sip:third@h>");
    out.set_header("Contact", "<sip:only@h>");
    let contacts: Vec<_> = out
        .headers()
        .iter()
        .filter(|(n, _)| same_header(n, "Contact"))
        .collect();
    assert_eq!(contacts.len(), 1);
    assert_eq!(out.header("m"), Some("<sip:only@h>"));
    out.remove_header("v");
    assert_eq!(out.header("Via"), None);
    out.set_request_uri("sip:carol@example.com");
    out.set_header("Subject", "hello\r\nInjected: yes");
    let text = String::from_utf8(out.to_bytes()).unwrap();
    assert!(text.starts_with("INVITE sip:carol@example.com SIP/2.0\r\n"));
    assert!(!text.contains("\r\nInjected"));
}

#[test]
fn response_to_copies_dialog_headers_and_adds_the_to_tag() {
    let m = invite();
    let r = response_to(&m, 180, reason_phrase(180), Some("xyz"));
    let bytes = r.to_bytes();
    let p = Message::parse(&bytes).unwrap();
    assert_eq!(p.status(), Some(180));
    assert_eq!(p.vias().unwrap(), m.vias().unwrap());
    assert_eq!(p.call_id(), m.call_id());
    assert_eq!(p.cseq(), m.cseq());
    assert_eq!(p.from().unwrap(), m.from().unwrap());
    assert_eq!(p.to().unwrap().tag(), Some("xyz"));
    assert_eq!(p.header("Contact"), None);
    assert!(p.body.is_empty());
    assert!(String::from_utf8_lossy(&bytes).contains("\r\nContent-Length: 0\r\n\r\n"));
    // An existing tag is kept.
    let raw = INVITE.replace(
        "To: Bob <sip:bob@biloxi.example.com>",
        "To: <sip:b@h>;tag=old",
    );
    let m2 = Message::parse(raw.as_bytes()).unwrap();
    let r2 = response_to(&m2, 200, "OK", Some("new"));
    assert_eq!(r2.header("To"), Some("<sip:b@h>;tag=old"));
}

#[test]
fn error_response_answers_a_broken_invite_with_a_parsable_400() {
    let broken = INVITE.replace("Max-Forwards: 70", "Max-Forwards: lots");
    let err = Message::parse(broken.as_bytes()).unwrap_err();
    assert_eq!(err.status_code(), 400);
    let resp = error_response(broken.as_bytes(), &err).expect("answerable");
    let p = Message::parse(&resp).unwrap();
    assert_eq!(p.status(), Some(400));
    assert_eq!(
        p.start,
        StartLine::Response {
            code: 400,
            reason: "Bad Request"
        }
    );
    assert_eq!(
        p.call_id().unwrap(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    assert_eq!(p.vias().unwrap(), invite().vias().unwrap());
    assert!(p.to().unwrap().tag().is_some());
    // Responses and garbage get no answer.
    let resp_in = "SIP/2.0 200 OK\r\nVia: x\r\n\r\n";
    assert_eq!(error_response(resp_in.as_bytes(), &ParseError::Empty), None);
    assert_eq!(error_response(b"\x00\x01garbage", &ParseError::Empty), None);
    assert_eq!(
        error_response(b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", &err),
        None
    );
}

#[test]
fn stream_framing_handles_partial_input_keepalives_and_pipelining() {
    let one = INVITE.as_bytes();
    for n in 0..one.len() {
        assert_eq!(Message::frame(&one[..n]), Ok(None), "prefix {n}");
    }
    let mut s = b"\r\n\r\n".to_vec();
    assert_eq!(Message::frame(&s), Ok(None));
    assert_eq!(Message::keepalive_len(&s), 4);
    s.extend_from_slice(one);
    s.extend_from_slice(one);
    let n = Message::frame(&s).unwrap().unwrap();
    assert_eq!(n, 4 + one.len());
    let m = Message::parse(&s[..n]).unwrap();
    assert_eq!(m.body, b"v=0\n");
    assert_eq!(Message::frame(&s[n..]), Ok(Some(one.len())));
    // Equal duplicates frame; conflicting ones cannot.
    let dup = INVITE.replace("Content-Length: 4\r\n", "Content-Length: 4\r\nl: 4\r\n");
    assert_eq!(Message::frame(dup.as_bytes()), Ok(Some(dup.len())));
    let conflict = INVITE.replace("Content-Length: 4\r\n", "Content-Length: 4\r\nl: 5\r\n");
    assert!(Message::frame(conflict.as_bytes()).is_err());
    let huge = vec![b'a'; parse::MAX_HEAD + 10];
    assert_eq!(
        Message::frame(&huge),
        Err(ParseError::TooLarge(parse::MAX_HEAD))
    );
}

#[test]
fn scalar_limits_and_single_instance_headers_are_enforced() {
    for (from, to) in [
        ("Max-Forwards: 70", "Max-Forwards: 4294967296"),
        ("Max-Forwards: 70", "Expires: 99999999999"),
        ("CSeq: 314159 INVITE", "CSeq: 4294967296 INVITE"),
        ("Call-ID: a84b", "Call-ID: a b"),
        ("Max-Forwards: 70", "To: <sip:other@h>"),
        ("Max-Forwards: 70", "Content-Type: text/plain"),
        ("Content-Length: 4", "Content-Length: 5"),
        ("Content-Type: application/sdp", "Content-Type: sdp"),
        ("Via: SIP/2.0/UDP pc33", "Via: SIP/2.0/UDP, pc33"),
        ("Max-Forwards: 70", "Max-Forwards : 70\r\nBad Header: x"),
    ] {
        let raw = INVITE.replacen(from, to, 1);
        assert_ne!(raw, INVITE, "{to}");
        assert!(Message::parse(raw.as_bytes()).is_err(), "{to} should fail");
    }
    let ok = INVITE.replace("CSeq: 314159", "CSeq: 4294967295");
    assert_eq!(
        Message::parse(ok.as_bytes()).unwrap().cseq().unwrap().seq,
        u32::MAX
    );
}

#[test]
fn responses_need_the_matching_headers_too() {
    let ok = "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nTo: <sip:a@b>;tag=1\r\nFrom: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n";
    let m = Message::parse(ok.as_bytes()).unwrap();
    assert_eq!(m.status(), Some(486));
    assert_eq!(m.method(), None);
    assert!(m.request_uri().is_none());
    let no_via = ok.replace("Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n", "");
    assert_eq!(
        Message::parse(no_via.as_bytes()).unwrap_err(),
        ParseError::MissingHeader("Via")
    );
    for line in [
        "SIP/2.0 99 Low",
        "SIP/2.0 700 High",
        "SIP/2.0 2000 Long",
        "SIP/3.0 200 OK",
    ] {
        let raw = ok.replace("SIP/2.0 486 Busy Here", line);
        assert!(Message::parse(raw.as_bytes()).is_err(), "{line}");
    }
}

#[test]
fn parse_errors_map_to_status_codes() {
    assert_eq!(ParseError::Version.status_code(), 505);
    assert_eq!(ParseError::CSeqMismatch.status_code(), 400);
    assert_eq!(Message::parse(b"\r\n\r\n").unwrap_err(), ParseError::Empty);
    assert_eq!(
        Message::parse(b"INVITE sip:a@b SIP/2.0\r\nVia: x").unwrap_err(),
        ParseError::Incomplete
    );
    assert_eq!(
        Message::parse(b"INVITE sip:a@b SIP/2.0\r\nTo: \xff\r\n\r\n").unwrap_err(),
        ParseError::NotUtf8
    );
    assert!(!ParseError::Version.to_string().is_empty());
}

#[test]
fn methods_are_case_sensitive_and_round_trip() {
    for m in [
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Register,
        Method::Options,
        Method::Info,
        Method::Update,
        Method::Refer,
        Method::Notify,
        Method::Subscribe,
        Method::Message,
        Method::Prack,
        Method::Publish,
    ] {
        assert_eq!(Method::parse(m.as_str()), m);
        assert_eq!(m.to_string(), m.as_str());
        assert!(m.is_known());
    }
    assert_eq!(Method::parse("invite"), Method::Other("invite".into()));
    assert!(!Method::parse("FOO").is_known());
}

#[test]
fn name_addr_display_is_reparsable() {
    let m = invite();
    let from = m.from().unwrap();
    let s = format!("{from}");
    assert_eq!(
        s,
        "\"Alice A.\" <sip:alice@atlanta.example.com>;tag=1928301774"
    );
    let t = lex::Text::borrowed(&s);
    let again = header::parse_name_addr(t, 0..s.len(), "From").unwrap();
    assert_eq!(again, from);
}

fn uas(raw: &str) -> Result<(), Rejection> {
    let m = Message::parse(raw.as_bytes()).unwrap();
    uas_checks(
        &m,
        &[
            Method::Invite,
            Method::Ack,
            Method::Bye,
            Method::Cancel,
            Method::Options,
        ],
        &["timer"],
        &["application/sdp"],
    )
}

#[test]
fn uas_checks_run_in_rfc3261_order_with_the_right_headers() {
    assert_eq!(uas(INVITE), Ok(()));
    let r = uas(&INVITE.replace("INVITE sip:bob@", "INVITE mailto:bob@")).unwrap_err();
    assert_eq!((r.code, r.reason), (416, "Unsupported URI Scheme"));
    let r = uas(&INVITE.replace(
        "Max-Forwards: 70",
        "Require: timer, foo\r\nProxy-Require: bar",
    ))
    .unwrap_err();
    assert_eq!(r.code, 420);
    assert_eq!(
        r.headers,
        vec![("Unsupported".to_owned(), "foo, bar".to_owned())]
    );
    let r = uas(&INVITE.replace("application/sdp", "application/x-foo")).unwrap_err();
    assert_eq!(r.code, 415);
    assert_eq!(
        r.headers,
        vec![("Accept".to_owned(), "application/sdp".to_owned())]
    );
    let r = uas(&INVITE.replace("Max-Forwards: 70", "Accept: text/plain")).unwrap_err();
    assert_eq!(r.code, 406);
    assert_eq!(
        uas(&INVITE.replace("Max-Forwards: 70", "Accept: application/*")),
        Ok(())
    );
    let sub = INVITE.replace("INVITE", "SUBSCRIBE").replace(
        "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n",
        "Content-Length: 0\r\n\r\n",
    );
    let r = uas(&sub).unwrap_err();
    assert_eq!(r.code, 405);
    assert_eq!(r.headers[0].0, "Allow");
    assert!(r.headers[0].1.contains("OPTIONS"));
    let foo = sub.replace("SUBSCRIBE", "FOO");
    assert_eq!(uas(&foo).unwrap_err().code, 501);
    // ACK never gets an answer, whatever it carries.
    let ack = INVITE
        .replace("INVITE", "ACK")
        .replace("ACK sip:bob@", "ACK mailto:bob@");
    assert!(ack.starts_with("ACK mailto:"));
    assert_eq!(uas(&ack), Ok(()));
    // The rejection turns into a full answer.
    let m = Message::parse(foo.as_bytes()).unwrap();
    let err = uas_checks(&m, &[Method::Invite], &[], &[]).unwrap_err();
    let resp = err.to_response(&m, Some("t1")).to_bytes();
    let p = Message::parse(&resp).unwrap();
    assert_eq!(p.status(), Some(501));
    assert_eq!(p.header("Allow").as_deref(), Some("INVITE"));
}

#[test]
fn reason_phrases_cover_standard_and_unknown_codes() {
    assert_eq!(reason_phrase(400), "Bad Request");
    assert_eq!(reason_phrase(416), "Unsupported URI Scheme");
    assert_eq!(reason_phrase(505), "Version Not Supported");
    assert_eq!(reason_phrase(499), "Client Error");
}
