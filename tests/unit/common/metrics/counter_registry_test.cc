// CounterRegistry: what components register is what Collect returns, grouped
// by name, until their registration is dropped.
#include "common/metrics/counter_registry.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

std::vector<std::string> Names(const std::vector<Metric>& metrics) {
  std::vector<std::string> out;
  for (const auto& m : metrics)
    out.push_back(m.name + (m.labels.empty() ? "" : "{" + m.labels + "}"));
  return out;
}

TEST(CounterRegistry, ReadsAtomicsAtEachCollect) {
  CounterRegistry registry;
  std::atomic<uint64_t> frames{3};
  std::atomic<size_t> open{1};
  auto reg = registry.Register({CounterOf("frames_total", "frames", frames),
                                GaugeOf("connections", "open connections", open)});
  auto first = registry.Collect();
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first.value().size(), 2u);
  EXPECT_EQ(first.value()[0].name, "frames_total");
  EXPECT_EQ(first.value()[0].type, "counter");
  EXPECT_EQ(first.value()[0].value, 3);
  EXPECT_EQ(first.value()[1].type, "gauge");
  frames += 4;
  EXPECT_EQ(registry.Collect().value()[0].value, 7);
}

TEST(CounterRegistry, DroppedRegistrationsAreNotRead) {
  CounterRegistry registry;
  std::atomic<uint64_t> kept{1};
  auto a = registry.Register({CounterOf("kept_total", "kept", kept)});
  {
    std::atomic<uint64_t> gone{2};
    auto b = registry.Register({CounterOf("gone_total", "gone", gone)});
    EXPECT_EQ(registry.Collect().value().size(), 2u);
  }
  EXPECT_EQ(Names(registry.Collect().value()), std::vector<std::string>{"kept_total"});
  // Moving a registration moves the ownership, not the samples.
  CounterRegistry::Registration moved = std::move(a);
  EXPECT_EQ(registry.Collect().value().size(), 1u);
  moved = CounterRegistry::Registration();
  EXPECT_TRUE(registry.Collect().value().empty());
}

TEST(CounterRegistry, FamiliesAndGroupingByName) {
  CounterRegistry registry;
  std::atomic<uint64_t> a{1};
  auto fixed = registry.Register({CounterOf("a_total", "a", a)});
  auto hosts = registry.RegisterFamily([](std::vector<Metric>* out) {
    out->push_back({"source_events_total", "per host", "counter", 5, "host=\"x\"", "x"});
    out->push_back({"a_total", "a", "counter", 2, "kind=\"late\""});
    out->push_back({"source_events_total", "per host", "counter", 6, "host=\"y\"", "y"});
    return Status::Ok();
  });
  auto all = registry.Collect();
  ASSERT_TRUE(all.ok());
  // Each name's samples adjacent, names in the order they first appear.
  EXPECT_EQ(Names(all.value()), (std::vector<std::string>{"a_total", "a_total{kind=\"late\"}",
                                                          "source_events_total{host=\"x\"}",
                                                          "source_events_total{host=\"y\"}"}));
  EXPECT_EQ(all.value()[2].source_host, "x");
}

TEST(CounterRegistry, AFailingFamilyFailsTheScrape) {
  CounterRegistry registry;
  auto broken = registry.RegisterFamily(
      [](std::vector<Metric>*) { return Status::IoError("store read failed"); });
  auto all = registry.Collect();
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.status().message(), "store read failed");
}

TEST(CounterRegistry, RegisterWhileCollecting) {
  CounterRegistry registry;
  std::atomic<uint64_t> v{1};
  auto base = registry.Register({CounterOf("base_total", "base", v)});
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop) {
      std::atomic<uint64_t> local{2};
      auto r = registry.Register({CounterOf("churn_total", "churn", local)});
    }
  });
  for (int i = 0; i < 2000; ++i) {
    auto all = registry.Collect();
    ASSERT_TRUE(all.ok());
    ASSERT_GE(all.value().size(), 1u);
    for (const auto& m : all.value()) EXPECT_EQ(m.value, m.name == "base_total" ? 1 : 2);
  }
  stop = true;
  churn.join();
}

}  // namespace
}  // namespace trailkeep
