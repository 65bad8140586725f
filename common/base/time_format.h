// Time in the collector is microseconds since the Unix epoch (UTC). Reading
// the current time is the Clock's (common/base/clock.h), so that tests can
// drive it: nothing here reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trailkeep {

// "2026-11-23T05:08:34.858884Z".
std::string FormatRfc3339Micros(int64_t utc_us);
// Proleptic Gregorian calendar; `month` is 1..12.
bool IsLeapYear(int year);
int DaysInMonth(int year, int month);

// Accepts an RFC 3339 time ("2026-11-23T05:00:00Z", offsets, fractions), a
// date ("2026-11-23", midnight UTC), or a duration before `now_us` such as
// "15m", "2h", "7d", "30s", "2w". Returns nullopt for anything else, including
// dates that do not exist (2026-02-30), offsets beyond +-23:59, and a
// duration reaching past what int64 microseconds hold.
std::optional<int64_t> ParseTimeArg(std::string_view text, int64_t now_us);

}  // namespace trailkeep
