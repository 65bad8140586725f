// Incremental RFC 6587 / RFC 5425 framer, free of I/O, and its encoder
// (AppendOctetCounted, at the end).
//
// Framing is decided per frame: a frame that starts with a non-zero digit and
// continues with digits up to a space is octet-counted ("MSG-LEN SP MSG");
// anything else (including ISO-timestamped lines such as "2021-12-06T11:..."
// that also start with a digit) is a line ended by LF. Feed bytes as they
// arrive; Next() yields complete frames until it needs more input.
//
// Errors are terminal: an octet count with a leading zero, too many digits or a
// length above the maximum, and a line longer than the maximum, cannot be
// resynchronised safely, so the framer reports kError once and the session
// closes. Frames completed before the error have already been returned.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace trailkeep {

class OctetFramer {
 public:
  enum class Result { kFrame, kNeedMore, kError };
  enum class Kind { kOctetCounted, kLine };

  explicit OctetFramer(size_t max_frame_bytes) : max_frame_(max_frame_bytes) {}

  // Appends received bytes to the internal buffer.
  void Feed(std::string_view bytes);

  // On kFrame, *frame views the frame's message bytes (count and LF trailer
  // removed for line frames; octet-counted bodies as counted, trailing LF kept).
  // The view is valid until the next call to Feed() or Next().
  Result Next(std::string_view* frame, Kind* kind);

  // Bytes received but not yet part of a complete frame (a half-sent frame at
  // disconnect). Valid until the next mutating call.
  std::string_view Pending() const;
  // Gives back the buffer's memory but what Pending() holds: a connection
  // going quiet keeps no copy of its last burst. Invalidates frame views.
  void Trim();
  const std::string& error() const { return error_; }
  size_t max_frame() const { return max_frame_; }

 private:
  Result Fail(std::string why);
  void Compact();

  size_t max_frame_;
  std::string buf_;
  size_t pos_ = 0;        // start of the first unconsumed byte in buf_
  size_t line_scan_ = 0;  // bytes of the current line already scanned for LF
  bool failed_ = false;
  std::string error_;
};

// The encoder, the one writer of octet-counted frames: appends
// "MSG-LEN SP MSG" to *out, MSG-LEN the decimal count of the message's bytes
// (not characters: "é" is 2). OctetFramer yields `message` back from it.
void AppendOctetCounted(std::string_view message, std::string* out);
inline std::string OctetCounted(std::string_view message) {
  std::string out;
  AppendOctetCounted(message, &out);
  return out;
}

}  // namespace trailkeep
