//! [`human_age`]: ages as `kubectl get` prints them.

use jiff::SignedDuration;

/// An age as `kubectl get` prints it (`HumanDuration` of k8s.io/apimachinery): `45s` up to two
/// minutes, `5m30s` up to ten, `42m` up to three hours, `3h12m` up to eight, `20h` up to two
/// days, `3d4h` up to eight, then `15d`, `1y20d`, `9y`. A time in the future by more than a
/// second (clocks disagree) is `<invalid>`.
///
/// ```
/// use jiff::SignedDuration;
/// use event_history::human_age;
///
/// assert_eq!(human_age(SignedDuration::from_secs(90)), "90s");
/// assert_eq!(human_age(SignedDuration::from_secs(330)), "5m30s");
/// assert_eq!(human_age(SignedDuration::from_mins(192)), "3h12m");
/// assert_eq!(human_age(SignedDuration::from_hours(100)), "4d4h");
/// ```
pub fn human_age(age: SignedDuration) -> String {
    let seconds = age.as_secs();
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    let days = hours / 24;
    if days < 365 * 2 {
        return format!("{days}d");
    }
    if days < 365 * 8 {
        return match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        };
    }
    format!("{}y", days / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_follow_kubectl() {
        let secs = |s: i64| human_age(SignedDuration::from_secs(s));
        assert_eq!(secs(-5), "<invalid>");
        assert_eq!(secs(-1), "0s");
        assert_eq!(secs(0), "0s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(120), "2m");
        assert_eq!(secs(599), "9m59s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(179 * 60 + 59), "179m");
        assert_eq!(secs(3 * 3600), "3h");
        assert_eq!(secs(7 * 3600 + 59 * 60), "7h59m");
        assert_eq!(secs(8 * 3600), "8h");
        assert_eq!(secs(47 * 3600), "47h");
        assert_eq!(secs(48 * 3600), "2d");
        assert_eq!(secs(7 * 86_400 + 23 * 3600), "7d23h");
        assert_eq!(secs(8 * 86_400), "8d");
        assert_eq!(secs(729 * 86_400), "729d");
        assert_eq!(secs(730 * 86_400), "2y");
        assert_eq!(secs(731 * 86_400), "2y1d");
        assert_eq!(secs(9 * 365 * 86_400), "9y");
    }
}
