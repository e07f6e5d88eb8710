//! The spec's vectors (docs/share-bundle-vectors.json, also checked by the JS implementation on WebCrypto) and
//! the rules each part of the format states.

use serde_json::Value;

use super::*;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/share-bundle-vectors.json"
    );
    let text =
        std::fs::read_to_string(path).expect("docs/share-bundle-vectors.json is in the repository");
    serde_json::from_str(&text).expect("the vectors are JSON")
}

fn b64(v: &Value) -> Vec<u8> {
    b64url_decode(v.as_str().expect("a base64url string")).expect("valid base64url")
}

/// Opens a whole bundle as a viewer would: header, PIN if asked, every chunk.
fn open_all(bundle: &[u8], secret: &[u8], pin: Option<&str>, now: i64) -> Result<Vec<OpenedFile>> {
    let limits = OpenLimits {
        size: Some(bundle.len() as u64),
        ..OpenLimits::at(now)
    };
    let mut reader = BundleReader::open(bundle, secret, &limits)?;
    if reader.needs_pin() {
        reader.unlock(pin)?;
    }
    reader.read_all(&mut |_, _| {})
}

/// The same without the known length: the streaming reader must find the same faults itself.
fn open_streaming(
    bundle: &[u8],
    secret: &[u8],
    pin: Option<&str>,
    now: i64,
) -> Result<Vec<OpenedFile>> {
    let mut reader = BundleReader::open(bundle, secret, &OpenLimits::at(now))?;
    reader.unlock(pin)?;
    reader.read_all(&mut |_, _| {})
}

fn code<T>(r: Result<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    }
}

#[test]
fn vectors_open_as_the_spec_says_and_reseal_byte_for_byte() {
    let vectors = vectors();
    assert!(vectors.len() >= 10);
    assert!(vectors.iter().filter(|v| v["expect"] == "ok").count() >= 3);
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let bundle = b64(&v["bundle"]);
        let open = &v["open"];
        let secret = decode_secret(open["secret"].as_str().unwrap()).unwrap();
        let pin = open["pin"].as_str();
        let now = parse_time(open["now"].as_str().unwrap()).unwrap();
        let expect = v["expect"].as_str().unwrap();
        // Both readers agree, except that only a reader told the length can call a truncation damage
        // before reading the content; the streaming one finds it at the end, with the same code.
        assert_eq!(code(open_all(&bundle, &secret, pin, now)), expect, "{name}");
        assert_eq!(
            code(open_streaming(&bundle, &secret, pin, now)),
            expect,
            "{name} (streamed)"
        );
        if expect != "ok" {
            continue;
        }
        let files = open_all(&bundle, &secret, pin, now).unwrap();
        let wanted: Vec<MemoryFile> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| MemoryFile {
                path: f["path"].as_str().unwrap().to_string(),
                data: b64(&f["data"]),
            })
            .collect();
        assert_eq!(files.len(), wanted.len(), "{name}");
        for (got, want) in files.iter().zip(&wanted) {
            assert_eq!(got.path, want.path, "{name}");
            assert_eq!(got.bytes, want.data, "{name}: {}", want.path);
        }
        let key32 = |k: &str| -> [u8; 32] {
            v[k].as_str()
                .map_or([0; 32], |_| b64(&v[k]).try_into().unwrap())
        };
        let options = SealOptions {
            secret: b64(&v["secret"]).try_into().unwrap(),
            pin: v["pin"].as_str(),
            content_key: key32("content_key"),
            salt: v["salt"]
                .as_str()
                .map_or([0; 16], |_| b64(&v["salt"]).try_into().unwrap()),
            iterations: v["iterations"]
                .as_u64()
                .map_or(PIN_ITERATIONS, |i| i as u32),
            chunk_size: v["chunk_size"].as_u64().unwrap() as u32,
            created: parse_time(v["created"].as_str().unwrap()).unwrap(),
            expires: v["expires"].as_str().map(|t| parse_time(t).unwrap()),
        };
        let mut resealed = Vec::new();
        seal(&wanted, &options, &mut resealed, &mut |_, _| {}).unwrap();
        assert!(
            resealed == bundle,
            "{name}: the writer makes the vector's bytes"
        );
    }
}

fn study() -> Vec<MemoryFile> {
    let pattern = |n: usize, m: usize| (0..n).map(|i| (i * m + 7) as u8).collect::<Vec<u8>>();
    vec![
        MemoryFile {
            path: "CT/IM0001".into(),
            data: pattern(7000, 31),
        },
        MemoryFile {
            path: "CT/IM0002".into(),
            data: pattern(5000, 17),
        },
        MemoryFile {
            path: "DICOMDIR".into(),
            data: vec![9; 300],
        },
    ]
}

fn options(pin: Option<&str>) -> SealOptions<'_> {
    SealOptions {
        secret: [3; 32],
        pin,
        content_key: [4; 32],
        salt: [5; 16],
        iterations: PIN_ITERATIONS,
        chunk_size: 4096,
        created: parse_time("2026-12-01T00:00:00Z").unwrap(),
        expires: parse_time("2027-01-01T00:00:00Z"),
    }
}

fn sealed(pin: Option<&str>) -> (Vec<u8>, Header) {
    let mut out = Vec::new();
    let mut calls = Vec::new();
    let header = seal(&study(), &options(pin), &mut out, &mut |d, t| {
        calls.push((d, t))
    })
    .unwrap();
    assert_eq!(
        calls.len() as u64,
        header.chunks(),
        "progress once per chunk"
    );
    assert_eq!(calls.last(), Some(&(header.plain_size, header.plain_size)));
    (out, header)
}

#[test]
fn a_study_round_trips_and_the_header_holds_only_counts_and_sizes() {
    let now = parse_time("2026-12-15T00:00:00Z").unwrap();
    for pin in [None, Some("4711-x")] {
        let (bundle, header) = sealed(pin);
        assert_eq!(
            header.summary,
            Summary {
                files: 3,
                bytes: 12300
            }
        );
        assert_eq!(header.chunks(), 4);
        let h = u32::from_le_bytes(bundle[8..12].try_into().unwrap()) as usize;
        assert_eq!(bundle.len() as u64, header.bundle_size(h));
        let text = String::from_utf8_lossy(&bundle[..bundle.len().min(600)]);
        for name in ["IM0001", "DICOMDIR", "CT/"] {
            assert!(!text.contains(name), "{name} is in the clear");
        }
        let files = open_all(&bundle, &[3; 32], pin, now).unwrap();
        for (got, want) in files.iter().zip(study()) {
            assert_eq!(
                (got.path.as_str(), &got.bytes),
                (want.path.as_str(), &want.data)
            );
        }
    }
}

#[test]
fn a_wrong_pin_leaves_the_reader_usable_and_limits_come_before_allocation() {
    let now = parse_time("2026-12-15T00:00:00Z").unwrap();
    let (bundle, _) = sealed(Some("2468"));
    let mut reader = BundleReader::open(&bundle[..], &[3; 32], &OpenLimits::at(now)).unwrap();
    assert_eq!(
        reader.unlock(None).unwrap_err().code,
        ShareErrorCode::PinRequired
    );
    assert_eq!(
        reader.unlock(Some("1357")).unwrap_err().code,
        ShareErrorCode::WrongPin
    );
    reader.unlock(Some("2468")).unwrap();
    assert_eq!(reader.read_all(&mut |_, _| {}).unwrap().len(), 3);

    let (plain, _) = sealed(None);
    let small = OpenLimits {
        max_plain_bytes: 1000,
        ..OpenLimits::at(now)
    };
    assert_eq!(
        code(BundleReader::open(&plain[..], &[3; 32], &small)),
        "too-large"
    );
    let short = OpenLimits {
        size: Some(plain.len() as u64 - 1),
        ..OpenLimits::at(now)
    };
    assert_eq!(
        code(BundleReader::open(&plain[..], &[3; 32], &short)),
        "damaged"
    );
    assert_eq!(
        code(BundleReader::open(
            &plain[..],
            &[3; 31],
            &OpenLimits::at(now)
        )),
        "wrong-key"
    );
    // Expiry: before, at, after; and a wrong key on an expired bundle is still wrong-key.
    let at = |t: &str| parse_time(t).unwrap();
    assert_eq!(
        code(open_all(&plain, &[3; 32], None, at("2026-12-31T23:59:59Z"))),
        "ok"
    );
    assert_eq!(
        code(open_all(&plain, &[3; 32], None, at("2027-01-01T00:00:00Z"))),
        "expired"
    );
    assert_eq!(
        code(open_all(&plain, &[9; 32], None, at("2027-06-01T00:00:00Z"))),
        "wrong-key"
    );
}

#[test]
fn every_chunk_fault_is_damage() {
    let now = parse_time("2026-12-15T00:00:00Z").unwrap();
    let (bundle, header) = sealed(None);
    let h = u32::from_le_bytes(bundle[8..12].try_into().unwrap()) as usize;
    let first = 12 + h + 16;
    let mut spans = Vec::new();
    let mut at = first;
    for i in 0..header.chunks() {
        let len = (header.plain_size - i * 4096).min(4096) as usize + 16;
        spans.push((at, at + len));
        at += len;
    }
    for &(a, b) in &spans {
        for pos in [a, a + 1, b - 1] {
            let mut c = bundle.clone();
            c[pos] ^= 1;
            assert_eq!(
                code(open_streaming(&c, &[3; 32], None, now)),
                "damaged",
                "byte {pos}"
            );
        }
        // Truncated at this chunk's end (except the last: that is the whole bundle) and mid-chunk.
        if b < bundle.len() {
            assert_eq!(
                code(open_streaming(&bundle[..b], &[3; 32], None, now)),
                "damaged"
            );
        }
        assert_eq!(
            code(open_streaming(&bundle[..a + 20], &[3; 32], None, now)),
            "damaged"
        );
    }
    let mut extra = bundle.clone();
    extra.extend_from_slice(&bundle[spans[3].0..spans[3].1]);
    assert_eq!(code(open_streaming(&extra, &[3; 32], None, now)), "damaged");
}

#[test]
fn writer_inputs_are_checked() {
    let mut out = Vec::new();
    let bad = |path: &str| {
        vec![MemoryFile {
            path: path.into(),
            data: vec![1],
        }]
    };
    for path in [
        "../x", "/abs", "a//b", "a\\b", "a/./b", "", "x\u{0}y", "a/..",
    ] {
        assert!(!valid_path(path), "{path}");
        assert_eq!(
            code(seal(&bad(path), &options(None), &mut out, &mut |_, _| {})),
            "bad-header"
        );
    }
    for path in ["IM1", "CT/IM0001.dcm", "a b/c-d_e", "Röntgen/ü"] {
        assert!(valid_path(path), "{path}");
    }
    let twice = [bad("a").remove(0), bad("a").remove(0)];
    assert_eq!(
        code(seal(&twice, &options(None), &mut out, &mut |_, _| {})),
        "bad-header"
    );
    for pin in ["123", "12 3", "ü123", &"x".repeat(65)] {
        assert_eq!(
            code(seal(
                &study(),
                &options(Some(pin)),
                &mut out,
                &mut |_, _| {}
            )),
            "bad-pin",
            "{pin}"
        );
    }
    let none: [MemoryFile; 0] = [];
    assert_eq!(
        code(seal(&none, &options(None), &mut out, &mut |_, _| {})),
        "bad-header"
    );
    let few = SealOptions {
        iterations: 1000,
        ..options(Some("2468"))
    };
    assert_eq!(
        code(seal(&study(), &few, &mut out, &mut |_, _| {})),
        "bad-header"
    );
}

#[test]
fn times_are_strict_utc_seconds() {
    // Unix times worked out by hand: 2026-12-01 is 20788 days after 1970-01-01.
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_time("2026-12-01T09:30:00Z"),
        Some(20_788 * 86_400 + 9 * 3600 + 1800)
    );
    assert_eq!(parse_time("2000-02-29T23:59:59Z"), Some(951_868_799));
    for bad in [
        "2026-02-29T00:00:00Z",
        "2026-12-01T24:00:00Z",
        "2026-12-01 09:30:00Z",
        "2026-12-01T09:30:00",
        "2026-12-01T09:30:00.000Z",
        "2026-13-01T00:00:00Z",
        "+2026-12-01T00:00:00Z",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
    assert_eq!(
        format_time(951_868_799).as_deref(),
        Some("2000-02-29T23:59:59Z")
    );
    assert_eq!(format_time(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
    assert_eq!(format_time(253_402_300_800), None);
}

#[test]
fn links_keep_the_key_in_the_fragment() {
    let secret = b64url_encode(&[0xfb; 32]);
    assert_eq!(secret.len(), 43);
    let link = make_link(
        "https://viewer.example/lucent/",
        "shares/a b#1.lucent",
        &secret,
    );
    assert_eq!(
        link,
        format!("https://viewer.example/lucent/share.html#shares/a%20b%231.lucent.{secret}")
    );
    assert_eq!(
        make_link("https://v.example/x/share.html", "s.lucent", "K"),
        "https://v.example/x/share.html#s.lucent.K"
    );
    assert_eq!(
        make_link("https://v.example", "https://f.example/ü.lucent", "K"),
        "https://v.example/share.html#https://f.example/%C3%BC.lucent.K"
    );
    assert_eq!(secret_of(&link), secret);
    assert_eq!(secret_of(&secret), secret);
    assert_eq!(decode_secret(secret_of(&link)), Some([0xfb; 32]));
    assert_eq!(decode_secret("short"), None);
}
