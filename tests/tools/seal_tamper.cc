// seal_tamper: what an intruder with write access to a stopped collector's
// data folder could do to its store, for the seal's integration test
// (tests/integration/seal_test.py). It opens the RocksDB folder directly,
// bypassing the store, and rewrites `events` blocks:
//   seal_tamper DB list                      ingest_seq host msgid seal_chain:seal_seq period
//   seal_tamper DB edit SEQ                  change the event's MSG
//   seal_tamper DB delete SEQ                remove the whole block holding SEQ
//   seal_tamper DB insert SEQ                a copy of SEQ, edited, stored right after it
//   seal_tamper DB swap SEQ1 SEQ2            exchange two events' places
//   seal_tamper DB truncate HOST N           remove HOST's newest N events
//   seal_tamper DB fakecut HOST N            remove HOST's oldest N events and mark the
//                                            host state as cut, as a retention cut would
//   seal_tamper DB forge SEQ STATE_FILE      edit SEQ and re-seal it in its place with the
//                                            collector's current key (from its state file)
// Exit 0 when done, 2 on a usage or store error.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "common/seal/seal_mac.h"
#include "common/seal/seal_state.h"
#include "trailkeep/v1/record.pb.h"

namespace {

using trailkeep::v1::Event;
using trailkeep::v1::EventBlock;

struct Db {
  std::unique_ptr<rocksdb::DB> db;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cf;
  ~Db() {
    for (auto& [n, h] : cf) db->DestroyColumnFamilyHandle(h);
  }
};

[[noreturn]] void Fail(const std::string& why) {
  std::cerr << "seal_tamper: " << why << "\n";
  std::exit(2);
}

void Check(const rocksdb::Status& s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.ToString());
}

void Open(const std::string& path, Db* out) {
  std::vector<std::string> names;
  Check(rocksdb::DB::ListColumnFamilies({}, path, &names), "listing column families");
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  Check(rocksdb::DB::Open({}, path, descs, &handles, &db), "opening " + path);
  out->db.reset(db);
  for (size_t i = 0; i < names.size(); ++i) out->cf[names[i]] = handles[i];
}

// Every block, in key (ingest) order: key -> block.
std::vector<std::pair<std::string, EventBlock>> Blocks(Db& d) {
  std::vector<std::pair<std::string, EventBlock>> out;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator({}, d.cf.at("events")));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EventBlock b;
    if (!b.ParseFromString(it->value().ToString())) Fail("a block does not parse");
    out.emplace_back(it->key().ToString(), std::move(b));
  }
  return out;
}

void Put(Db& d, const std::string& key, const EventBlock& b) {
  if (b.events_size() == 0) {
    Check(d.db->Delete({}, d.cf.at("events"), key), "deleting a block");
  } else {
    Check(d.db->Put({}, d.cf.at("events"), key, b.SerializeAsString()), "writing a block");
  }
}

// (block index, event index) of ingest_seq `seq`.
std::pair<size_t, int> Find(const std::vector<std::pair<std::string, EventBlock>>& blocks,
                            uint64_t seq) {
  for (size_t i = 0; i < blocks.size(); ++i) {
    for (int j = 0; j < blocks[i].second.events_size(); ++j) {
      if (blocks[i].second.events(j).ingest_seq() == seq) return {i, j};
    }
  }
  Fail("no event with ingest_seq " + std::to_string(seq));
}

void RemoveEvent(EventBlock* b, int j) { b->mutable_events()->DeleteSubrange(j, 1); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3)
    Fail("usage: seal_tamper DB list|edit|delete|insert|swap|truncate|fakecut|forge ...");
  const std::string path = argv[1];
  const std::string op = argv[2];
  const auto arg = [&](int i) -> std::string {
    if (i >= argc) Fail(op + ": missing argument");
    return argv[i];
  };
  Db d;
  Open(path, &d);
  auto blocks = Blocks(d);
  if (op == "list") {
    for (const auto& [k, b] : blocks) {
      for (const Event& e : b.events()) {
        std::printf("%llu %s %s %u:%llu %llu\n", static_cast<unsigned long long>(e.ingest_seq()),
                    e.host().c_str(), e.msgid().empty() ? "-" : e.msgid().c_str(), e.seal().chain(),
                    static_cast<unsigned long long>(e.seal().seq()),
                    static_cast<unsigned long long>(e.seal().period()));
      }
    }
  } else if (op == "edit") {
    auto [i, j] = Find(blocks, std::stoull(arg(3)));
    Event* e = blocks[i].second.mutable_events(j);
    e->set_msg(e->msg() + " (edited)");
    Put(d, blocks[i].first, blocks[i].second);
  } else if (op == "delete") {
    auto [i, j] = Find(blocks, std::stoull(arg(3)));
    (void)j;
    Check(d.db->Delete({}, d.cf.at("events"), blocks[i].first), "deleting a block");
  } else if (op == "insert") {
    auto [i, j] = Find(blocks, std::stoull(arg(3)));
    Event copy = blocks[i].second.events(j);
    copy.set_msg("inserted by an intruder");
    auto* events = blocks[i].second.mutable_events();
    events->Add(std::move(copy));
    for (int k = events->size() - 1; k > j + 1; --k) events->SwapElements(k, k - 1);
    Put(d, blocks[i].first, blocks[i].second);
  } else if (op == "swap") {
    auto [i1, j1] = Find(blocks, std::stoull(arg(3)));
    auto [i2, j2] = Find(blocks, std::stoull(arg(4)));
    // Each event moves whole, seal and all; each place keeps its ingest_seq.
    Event a = blocks[i2].second.events(j2);
    Event b = blocks[i1].second.events(j1);
    a.set_ingest_seq(b.ingest_seq());
    b.set_ingest_seq(blocks[i2].second.events(j2).ingest_seq());
    *blocks[i1].second.mutable_events(j1) = a;
    *blocks[i2].second.mutable_events(j2) = b;
    Put(d, blocks[i1].first, blocks[i1].second);
    if (i2 != i1) Put(d, blocks[i2].first, blocks[i2].second);
  } else if (op == "truncate" || op == "fakecut") {
    const std::string host = arg(3);
    int n = std::stoi(arg(4));
    const bool newest = op == "truncate";
    std::vector<size_t> order(blocks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = newest ? order.size() - 1 - i : i;
    for (size_t i : order) {
      auto& b = blocks[i].second;
      bool touched = false;
      for (int j = newest ? b.events_size() - 1 : 0; n > 0 && j >= 0 && j < b.events_size();) {
        if (b.events(j).host() == host) {
          RemoveEvent(&b, j);
          --n;
          touched = true;
          if (newest) --j;
        } else {
          j += newest ? -1 : 1;
        }
      }
      if (touched) Put(d, blocks[i].first, b);
      if (n == 0) break;
    }
    if (op == "fakecut") {
      std::string v;
      Check(d.db->Get({}, d.cf.at("hosts"), host, &v), "reading the host state");
      trailkeep::v1::HostState hs;
      hs.ParseFromString(v);
      hs.set_retention_cut_us(hs.last_seen_us());
      hs.set_expired_events(hs.expired_events() + static_cast<uint64_t>(std::stoi(arg(4))));
      Check(d.db->Put({}, d.cf.at("hosts"), host, hs.SerializeAsString()), "writing it");
    }
  } else if (op == "forge") {
    auto state = trailkeep::ReadSealStateFile(arg(4));
    if (!state.ok()) Fail(state.status().ToString());
    auto [i, j] = Find(blocks, std::stoull(arg(3)));
    Event* e = blocks[i].second.mutable_events(j);
    // The MAC of its predecessor in the chain, as stored.
    std::string prev(trailkeep::kSealMacBytes, '\0');
    for (const auto& [k, b] : blocks) {
      for (const Event& o : b.events()) {
        if (o.host() == e->host() && o.seal().chain() == e->seal().chain() &&
            o.seal().seq() + 1 == e->seal().seq()) {
          prev = o.seal().mac();
        }
      }
    }
    Event bare = *e;
    bare.set_msg(bare.msg() + " (forged)");
    bare.set_ingest_seq(0);
    bare.clear_seal();
    const auto& s = e->seal();
    const std::string mac = trailkeep::SealMac(
        state.value().key,
        trailkeep::SealInput(bare, s.chain(), state.value().period, s.seq(), prev));
    e->set_msg(bare.msg());
    e->mutable_seal()->set_period(state.value().period);
    e->mutable_seal()->set_mac(mac);
    Put(d, blocks[i].first, blocks[i].second);
  } else {
    Fail("unknown operation " + op);
  }
  return 0;
}
