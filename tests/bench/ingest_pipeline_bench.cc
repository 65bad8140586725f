// ingest_pipeline_bench RULES_FILE LINES_FILE [ROUNDS]
//
// CPU cost per event of the collector's ingest stage, IngestPipeline::Offer
// (parse, source host, chain check, audit membership, NDcPP classification),
// with the rules in RULES_FILE and with classification off (no rules), in one
// process, alternating on/off for ROUNDS rounds (default 5). Each event is a
// line of LINES_FILE offered as a frame of an unauthenticated TLS peer, in
// batches of 256 as a session hands them over; the committer is replaced by
// a sink that takes and drops the batch, so neither network nor store noise
// enters the figure. Prints per round and the min and median of rounds;
// tests/bench/ndcpp_bench.py runs it. Process CPU time (one thread).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <time.h>

#include "common/ndcpp/rules.h"
#include "server/pipeline/classify_stage.h"
#include "server/pipeline/connection_audit.h"
#include "server/pipeline/ingest_pipeline.h"
#include "server/pipeline/rules_holder.h"
#include "server/selfaudit/self_audit.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

// Connection events never happen here; the pipeline needs somewhere to put them.
class DroppingSelfAudit final : public SelfAudit {
 public:
  void Record(SelfEventKind, const std::string&, const std::string&,
              const std::vector<std::pair<std::string, std::string>>&) override {}
};

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds to offer every line once.
double OfferAll(IngestPipeline* pipeline, const std::vector<std::string>& lines,
                const std::shared_ptr<const v1::Peer>& peer) {
  constexpr size_t kBatch = 256;
  IngestBatch batch;
  std::vector<RawFrame>& frames = batch.frames;
  frames.reserve(kBatch);
  const double start = CpuSeconds();
  for (size_t i = 0; i < lines.size(); i += kBatch) {
    frames.clear();
    for (size_t j = i; j < std::min(lines.size(), i + kBatch); ++j) {
      frames.push_back(RawFrame{lines[j], 1'700'000'000'000'000, peer});
    }
    if (!pipeline->Offer(&batch, nullptr)) std::abort();  // the sink always takes
  }
  return CpuSeconds() - start;
}

int Run(const std::string& rules_path, const std::string& lines_path, int rounds) {
  auto rules = ndcpp::RuleSet::LoadFile(rules_path);
  if (!rules.ok()) {
    std::fprintf(stderr, "%s\n", rules.status().message().c_str());
    return 2;
  }
  std::vector<std::string> lines;
  std::ifstream in(lines_path);
  for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  if (lines.empty()) {
    std::fprintf(stderr, "no lines in %s\n", lines_path.c_str());
    return 2;
  }
  RulesHolder holder;
  holder.Set(std::move(rules).value());
  DroppingSelfAudit audit;
  ConnectionAudit reports(&audit);
  const auto drop = [](std::vector<v1::Event>* events, std::function<void()>) {
    events->clear();
    return true;
  };
  const ClassifyStage classifier(&holder);
  IngestPipeline with_rules(drop, &reports, nullptr, &classifier);
  IngestPipeline without_rules(drop, &reports, nullptr, nullptr);
  auto peer = std::make_shared<v1::Peer>();
  peer->set_address("192.0.2.10:50000");
  peer->set_listener("127.0.0.1:6514");

  OfferAll(&with_rules, lines, peer);  // warm-up: RE2 DFA caches, allocator
  std::vector<double> on, off;
  for (int r = 0; r < rounds; ++r) {
    const bool on_first = r % 2 == 0;
    for (int k = 0; k < 2; ++k) {
      const bool classify = (k == 0) == on_first;
      const double s = OfferAll(classify ? &with_rules : &without_rules, lines, peer);
      (classify ? on : off).push_back(s);
      std::printf("  pipeline round %d classification %-3s: %.3f µs CPU/event, %.0f events/s\n",
                  r + 1, classify ? "on" : "off", s / static_cast<double>(lines.size()) * 1e6,
                  static_cast<double>(lines.size()) / s);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double n = static_cast<double>(lines.size());
  for (const char* name : {"min", "median"}) {
    const bool is_min = name[1] == 'i';
    const double t_on = is_min ? *std::min_element(on.begin(), on.end()) : median(on);
    const double t_off = is_min ? *std::min_element(off.begin(), off.end()) : median(off);
    std::printf(
        "  %-6s pipeline on: %.3f µs/event (%.0f events/s); off: %.3f µs/event (%.0f events/s);"
        " classification %.3f µs/event, on/off throughput %.1f%%\n",
        name, t_on / n * 1e6, n / t_on, t_off / n * 1e6, n / t_off, (t_on - t_off) / n * 1e6,
        100.0 * t_off / t_on);
  }
  return 0;
}

}  // namespace
}  // namespace trailkeep

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ingest_pipeline_bench RULES_FILE LINES_FILE [ROUNDS]\n");
    return 2;
  }
  return trailkeep::Run(argv[1], argv[2], argc > 3 ? std::atoi(argv[3]) : 5);
}
