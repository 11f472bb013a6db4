//! Wall-clock timestamps in the RFC 3339 form `metav1.Time` serializes (`2006-01-02T15:04:05Z`,
//! whole seconds, UTC).

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_rfc3339() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    format_rfc3339(seconds)
}

/// Howard Hinnant's days-to-civil conversion, so no date crate is needed.
pub fn format_rfc3339(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds_of_day = unix_seconds % 86_400;
    let shifted = days as i64 + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::format_rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_717_245_296), "2024-06-01T12:34:56Z");
    }
}

/// A `metav1.MicroTime` as the real server decodes and re-encodes it (RFC 3339 in, always six
/// fractional digits and `Z` out: `2006-01-02T15:04:05.000000Z`); `None` when it is not one
/// the server accepts. Offsets other than `Z` are not accepted here.
pub fn micro_time(text: &str) -> Option<String> {
    let body = text.strip_suffix('Z')?;
    let (seconds, fraction) = body.split_once('.').unwrap_or((body, ""));
    let bytes = seconds.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            4 | 7 => *byte == b'-',
            10 => *byte == b'T',
            13 | 16 => *byte == b':',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok || fraction.len() > 9 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    if body.contains('.') && fraction.is_empty() {
        return None;
    }
    let micros: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    Some(format!("{seconds}.{micros}Z"))
}

#[cfg(test)]
mod micro_tests {
    use super::micro_time;

    #[test]
    fn micro_times_come_back_with_six_fractional_digits() {
        assert_eq!(
            micro_time("2026-01-02T03:04:05Z").as_deref(),
            Some("2026-01-02T03:04:05.000000Z")
        );
        assert_eq!(
            micro_time("2026-01-02T03:04:05.12Z").as_deref(),
            Some("2026-01-02T03:04:05.120000Z")
        );
        assert_eq!(
            micro_time("2026-01-02T03:04:05.123456789Z").as_deref(),
            Some("2026-01-02T03:04:05.123456Z")
        );
        for bad in [
            "2026-01-02",
            "2026-01-02T03:04:05",
            "2026-01-02T03:04:05.Z",
            "yesterday",
        ] {
            assert_eq!(micro_time(bad), None, "{bad}");
        }
    }
}
