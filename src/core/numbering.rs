//! Telephone numbers as the customer records see them: normalisation (digits and a leading `+`),
//! the key two spellings of one Chinese number share (`+8613800138000`, `013800138000` and
//! `13800138000` are one phone), and the number's location (归属地, SPEC §5 screen pop).
//!
//! The location tables are small on purpose: landline area codes of the ~60 largest cities and
//! mobile carriers by the public three-digit prefixes. The full number-segment database (号段库,
//! seven-digit prefix → province and city) is not included, so a mobile's city is unknown.

use serde::Serialize;

/// The longest phone number accepted, in digits (ITU-T E.164 allows 15; extensions and
/// carrier prefixes get some room).
pub const MAX_DIGITS: usize = 20;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but separators.
    #[error("the phone number is empty")]
    Empty,
    /// A character that is neither a digit, a separator nor a leading `+`.
    #[error("{0:?} is not allowed in a phone number (digits, spaces, - . ( ) and a leading +)")]
    BadChar(char),
    /// Too many digits.
    #[error("more than {MAX_DIGITS} digits")]
    TooLong,
}

/// Normalises a phone number as typed or signalled: separators (space, `-`, `.`, `(`, `)`) go,
/// a leading `+` stays, `00` international dialling becomes `+` (ITU-T E.164 notation), and
/// everything else must be a digit.
pub fn normalise(raw: &str) -> Result<String, PhoneError> {
    let trimmed = raw.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, trimmed),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            other => return Err(PhoneError::BadChar(other)),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    if digits.len() > MAX_DIGITS {
        return Err(PhoneError::TooLong);
    }
    if plus {
        return Ok(format!("+{digits}"));
    }
    // "0086…" is "+86…" dialled from a desk phone; a bare "00" is not a number.
    match digits.strip_prefix("00") {
        Some(intl) if !intl.is_empty() => Ok(format!("+{intl}")),
        _ => Ok(digits),
    }
}

/// Whether `national` (no country code, no trunk 0) is a Chinese mobile number: 11 digits
/// starting with 1 (MIIT numbering plan).
fn is_cn_mobile(national: &str) -> bool {
    national.len() == 11
        && national.starts_with('1')
        && national.bytes().all(|b| b.is_ascii_digit())
}

/// The key under which a normalised number is looked up, so the spellings of one Chinese
/// number meet: mobiles lose `+86`, `86` and a dialled trunk `0` (`13800138000`); landlines are
/// kept in domestic form with the trunk `0` (`+86 10 …` → `010…`); other numbers (foreign
/// `+…`, extensions, service numbers) are their normalised selves.
pub fn match_key(normalised: &str) -> String {
    if let Some(national) = normalised.strip_prefix("+86") {
        if is_cn_mobile(national) {
            return national.to_owned();
        }
        // A landline in international form drops the trunk 0 (E.164); restore it.
        if national.len() >= 9 {
            return format!("0{national}");
        }
        return normalised.to_owned();
    }
    if let Some(national) = normalised.strip_prefix("86") {
        if is_cn_mobile(national) {
            return national.to_owned();
        }
        // "86" dialled without "+" before a landline: domestic numbers this long start with 0
        // (landline) or 1 (mobile), never 86, so this is the country code.
        if national.len() >= 9 && !national.starts_with('0') {
            return format!("0{national}");
        }
    }
    if let Some(national) = normalised.strip_prefix('0') {
        // Carriers often prefix 0 to mobiles from outside the local area.
        if is_cn_mobile(national) {
            return national.to_owned();
        }
    }
    normalised.to_owned()
}

/// The spellings a call record may carry for a number whose [`match_key`] is `key`, so stored
/// caller/callee columns can be matched exactly (and by index).
pub fn spellings(key: &str) -> Vec<String> {
    if is_cn_mobile(key) {
        return vec![
            key.to_owned(),
            format!("0{key}"),
            format!("+86{key}"),
            format!("86{key}"),
            format!("0086{key}"),
        ];
    }
    if let Some(national) = key.strip_prefix('0').filter(|n| n.len() >= 8) {
        return vec![
            key.to_owned(),
            format!("+86{national}"),
            format!("86{national}"),
            format!("0086{national}"),
        ];
    }
    vec![key.to_owned()]
}

/// What kind of number a location describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    /// A Chinese mobile number (手机).
    Mobile,
    /// A Chinese landline with area code (固话).
    Landline,
    /// A number outside China (+ and a country code other than 86).
    International,
    /// Anything else: extensions, service numbers, local numbers without area code.
    Other,
}

/// A number's location (归属地) as far as the built-in tables know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Mobile, landline, international or other.
    pub kind: NumberKind,
    /// The city (landlines with a known area code only).
    pub city: Option<&'static str>,
    /// The landline area code, with its trunk 0 (`010`, `0755`).
    pub area_code: Option<&'static str>,
    /// The mobile carrier (中国移动, 中国联通, 中国电信, 中国广电 or 虚拟运营商).
    pub carrier: Option<&'static str>,
}

/// Landline area codes of the main Chinese cities (MIIT 长途区号), trunk `0` included.
const AREA_CODES: &[(&str, &str)] = &[
    ("010", "北京"),
    ("020", "广州"),
    ("021", "上海"),
    ("022", "天津"),
    ("023", "重庆"),
    ("024", "沈阳"),
    ("025", "南京"),
    ("027", "武汉"),
    ("028", "成都"),
    ("029", "西安"),
    ("0311", "石家庄"),
    ("0312", "保定"),
    ("0315", "唐山"),
    ("0351", "太原"),
    ("0371", "郑州"),
    ("0379", "洛阳"),
    ("0411", "大连"),
    ("0431", "长春"),
    ("0451", "哈尔滨"),
    ("0471", "呼和浩特"),
    ("0510", "无锡"),
    ("0512", "苏州"),
    ("0513", "南通"),
    ("0516", "徐州"),
    ("0519", "常州"),
    ("0531", "济南"),
    ("0532", "青岛"),
    ("0533", "淄博"),
    ("0535", "烟台"),
    ("0536", "潍坊"),
    ("0551", "合肥"),
    ("0571", "杭州"),
    ("0573", "嘉兴"),
    ("0574", "宁波"),
    ("0575", "绍兴"),
    ("0577", "温州"),
    ("0579", "金华"),
    ("0591", "福州"),
    ("0592", "厦门"),
    ("0595", "泉州"),
    ("0731", "长沙"),
    ("0752", "惠州"),
    ("0754", "汕头"),
    ("0755", "深圳"),
    ("0756", "珠海"),
    ("0757", "佛山"),
    ("0760", "中山"),
    ("0769", "东莞"),
    ("0771", "南宁"),
    ("0791", "南昌"),
    ("0851", "贵阳"),
    ("0871", "昆明"),
    ("0891", "拉萨"),
    ("0898", "海口"),
    ("0931", "兰州"),
    ("0951", "银川"),
    ("0971", "西宁"),
    ("0991", "乌鲁木齐"),
];

const CHINA_MOBILE: &str = "中国移动";
const CHINA_UNICOM: &str = "中国联通";
const CHINA_TELECOM: &str = "中国电信";
const CHINA_BROADNET: &str = "中国广电";
const MVNO: &str = "虚拟运营商";

/// Mobile carriers by the public three-digit prefixes (号段) of the MIIT numbering plan.
const MOBILE_PREFIXES: &[(&str, &str)] = &[
    ("130", CHINA_UNICOM),
    ("131", CHINA_UNICOM),
    ("132", CHINA_UNICOM),
    ("133", CHINA_TELECOM),
    ("134", CHINA_MOBILE),
    ("135", CHINA_MOBILE),
    ("136", CHINA_MOBILE),
    ("137", CHINA_MOBILE),
    ("138", CHINA_MOBILE),
    ("139", CHINA_MOBILE),
    ("145", CHINA_UNICOM),
    ("146", CHINA_UNICOM),
    ("147", CHINA_MOBILE),
    ("148", CHINA_MOBILE),
    ("149", CHINA_TELECOM),
    ("150", CHINA_MOBILE),
    ("151", CHINA_MOBILE),
    ("152", CHINA_MOBILE),
    ("153", CHINA_TELECOM),
    ("155", CHINA_UNICOM),
    ("156", CHINA_UNICOM),
    ("157", CHINA_MOBILE),
    ("158", CHINA_MOBILE),
    ("159", CHINA_MOBILE),
    ("162", MVNO),
    ("165", MVNO),
    ("166", CHINA_UNICOM),
    ("167", MVNO),
    ("170", MVNO),
    ("171", MVNO),
    ("172", CHINA_MOBILE),
    ("173", CHINA_TELECOM),
    ("175", CHINA_UNICOM),
    ("176", CHINA_UNICOM),
    ("177", CHINA_TELECOM),
    ("178", CHINA_MOBILE),
    ("180", CHINA_TELECOM),
    ("181", CHINA_TELECOM),
    ("182", CHINA_MOBILE),
    ("183", CHINA_MOBILE),
    ("184", CHINA_MOBILE),
    ("185", CHINA_UNICOM),
    ("186", CHINA_UNICOM),
    ("187", CHINA_MOBILE),
    ("188", CHINA_MOBILE),
    ("189", CHINA_TELECOM),
    ("190", CHINA_TELECOM),
    ("191", CHINA_TELECOM),
    ("192", CHINA_BROADNET),
    ("193", CHINA_TELECOM),
    ("195", CHINA_MOBILE),
    ("196", CHINA_UNICOM),
    ("197", CHINA_MOBILE),
    ("198", CHINA_MOBILE),
    ("199", CHINA_TELECOM),
];

/// The location of a normalised number (归属地): a mobile's carrier, a landline's city.
pub fn location(normalised: &str) -> Location {
    let key = match_key(normalised);
    let unknown = |kind| Location {
        kind,
        city: None,
        area_code: None,
        carrier: None,
    };
    if key.starts_with('+') {
        return unknown(NumberKind::International);
    }
    if is_cn_mobile(&key) {
        let carrier = key
            .get(..3)
            .and_then(|p| MOBILE_PREFIXES.iter().find(|(q, _)| *q == p))
            .map(|&(_, c)| c);
        return Location {
            carrier,
            ..unknown(NumberKind::Mobile)
        };
    }
    // Area codes: 010 and 02x have three digits, all others four (with the trunk 0);
    // a subscriber number has 7 or 8 digits.
    if key.starts_with('0') && (10..=12).contains(&key.len()) {
        let code_len = if key.starts_with("01") || key.starts_with("02") {
            3
        } else {
            4
        };
        let found = key
            .get(..code_len)
            .and_then(|c| AREA_CODES.iter().find(|(a, _)| *a == c));
        return match found {
            Some(&(code, city)) => Location {
                city: Some(city),
                area_code: Some(code),
                ..unknown(NumberKind::Landline)
            },
            None => unknown(NumberKind::Landline),
        };
    }
    unknown(NumberKind::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_go_and_a_leading_plus_or_00_stays_international() {
        assert_eq!(normalise(" 138-0013 8000 ").unwrap(), "13800138000");
        assert_eq!(normalise("+86 (10) 6552.9988").unwrap(), "+861065529988");
        assert_eq!(normalise("0086 138 0013 8000").unwrap(), "+8613800138000");
        assert_eq!(normalise("1001").unwrap(), "1001");
    }

    #[test]
    fn letters_empty_and_overlong_numbers_are_refused() {
        assert_eq!(normalise("138a"), Err(PhoneError::BadChar('a')));
        assert_eq!(normalise("1+2"), Err(PhoneError::BadChar('+')));
        assert_eq!(normalise(" - "), Err(PhoneError::Empty));
        assert_eq!(normalise("+"), Err(PhoneError::Empty));
        assert_eq!(normalise(&"1".repeat(21)), Err(PhoneError::TooLong));
    }

    #[test]
    fn the_spellings_of_one_mobile_share_a_key() {
        for s in [
            "13800138000",
            "013800138000",
            "+8613800138000",
            "8613800138000",
        ] {
            assert_eq!(match_key(s), "13800138000", "{s}");
        }
    }

    #[test]
    fn landlines_keep_the_trunk_zero_and_international_form_gains_it() {
        assert_eq!(match_key("01065529988"), "01065529988");
        assert_eq!(match_key("+861065529988"), "01065529988");
        assert_eq!(match_key("862161234567"), "02161234567");
        assert_eq!(match_key("861065529988"), "01065529988");
        assert_eq!(match_key("+4420794600000"), "+4420794600000");
        assert_eq!(match_key("1001"), "1001");
        // A short number after +86 is not rewritten into a landline.
        assert_eq!(match_key("+86110"), "+86110");
    }

    #[test]
    fn every_spelling_maps_back_to_its_key() {
        for key in ["13800138000", "075588886666"] {
            let all = spellings(key);
            assert!(all.len() > 1, "{key}");
            for s in all {
                assert_eq!(match_key(&normalise(&s).unwrap()), key, "{s}");
            }
        }
        assert_eq!(spellings("1001"), vec!["1001".to_owned()]);
    }

    #[test]
    fn mobiles_get_their_carrier_from_the_prefix() {
        let l = location("13800138000");
        assert_eq!(l.kind, NumberKind::Mobile);
        assert_eq!(l.carrier, Some("中国移动"));
        assert_eq!(l.city, None);
        assert_eq!(location("+8618612345678").carrier, Some("中国联通"));
        assert_eq!(location("013312345678").carrier, Some("中国电信"));
        assert_eq!(location("14012345678").carrier, None, "unallocated prefix");
    }

    #[test]
    fn landlines_get_their_city_from_three_and_four_digit_area_codes() {
        let bj = location("01065529988");
        assert_eq!(bj.kind, NumberKind::Landline);
        assert_eq!((bj.city, bj.area_code), (Some("北京"), Some("010")));
        assert_eq!(location("075588886666").city, Some("深圳"));
        assert_eq!(location("+862161234567").city, Some("上海"));
        assert_eq!(location("0999123456").city, None);
        assert_eq!(location("0999123456").kind, NumberKind::Landline);
    }

    #[test]
    fn extensions_and_foreign_numbers_have_no_location() {
        assert_eq!(location("1001").kind, NumberKind::Other);
        assert_eq!(location("+4420794600000").kind, NumberKind::International);
    }

    #[test]
    fn area_code_and_prefix_tables_have_no_duplicates() {
        let mut codes: Vec<_> = AREA_CODES.iter().map(|(c, _)| c).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), AREA_CODES.len());
        let mut prefixes: Vec<_> = MOBILE_PREFIXES.iter().map(|(p, _)| p).collect();
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), MOBILE_PREFIXES.len());
    }
}
