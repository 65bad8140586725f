// "Run a job on the read pool, answer on the session's strand": the shape of
// every store read of the HTTPS API. `job` runs on `pool` (RocksDB reads may
// block; no I/O thread waits on them) and its result is handed to `answer` on
// `strand`, where the session's state may be touched.
//
// Both callables must keep what they use alive (capture the session's and
// the server's shared_ptr); the result is moved from one to the other.
#pragma once

#include <utility>

#include <boost/asio/post.hpp>

namespace trailkeep {

template <typename Pool, typename Strand, typename Job, typename Answer>
void RunOnPoolAnswerOnStrand(Pool& pool, const Strand& strand, Job job, Answer answer) {
  boost::asio::post(pool, [strand, job = std::move(job), answer = std::move(answer)]() mutable {
    auto result = job();
    boost::asio::post(strand, [answer = std::move(answer), result = std::move(result)]() mutable {
      answer(std::move(result));
    });
  });
}

}  // namespace trailkeep
