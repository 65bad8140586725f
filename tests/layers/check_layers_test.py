#!/usr/bin/env python3
"""Self-test of check_layers.py: it passes a tree that follows the table and
fails one that includes or links across a forbidden edge. The trees are made
in a temporary folder with the repository's own cmake/layers.txt, so the
edges the table forbids (common/wire -> common/syslog, common -> server,
agent -> server) are the ones tested."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import check_layers  # noqa: E402


class CheckLayersTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="layers_test.")
        self.addCleanup(shutil.rmtree, self.root)
        os.makedirs(os.path.join(self.root, "cmake"))
        self.table = os.path.join(self.root, "cmake", "layers.txt")
        shutil.copy(os.path.join(REPO, "cmake", "layers.txt"), self.table)
        # A tree that follows the table.
        self.write("common/base/status.h", "#pragma once\n")
        self.write("common/syslog/syslog_parser.h", '#include "common/base/status.h"\n')
        self.write("common/wire/octet_framer.cc",
                   '#include "common/wire/octet_framer.h"\n#include <string>\n'
                   '#include "common/base/status.h"\n#include "trailkeep/v1/record.pb.h"\n')
        self.write("common/chain/chain_audit.cc",
                   '#include "common/syslog/syslog_parser.h"\n#include "common/wire/hmac_chain.h"\n'
                   '#include "common/base/status.h"\n')  # base: through wire and syslog
        self.write("server/store/store.h", '#include "common/base/status.h"\n')
        self.write("tests/unit/anything_test.cc",
                   '#include "server/store/store.h"\n#include "agent/spool.h"\n')

    def write(self, path, text):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)

    def check(self, links=None):
        return check_layers.run(self.root, self.table, links)

    def test_clean_tree_passes(self):
        self.assertEqual(self.check(), [])

    def test_wire_including_syslog_fails(self):
        self.write("common/wire/chain_audit.cc",
                   '#include <map>\n\n#include "common/syslog/syslog_parser.h"\n')
        self.assertEqual(self.check(), [
            "common/wire/chain_audit.cc:3: includes common/syslog/syslog_parser.h: "
            "common/wire may not include common/syslog (cmake/layers.txt)"])

    def test_common_including_server_and_agent_including_server_fail(self):
        self.write("common/event/event_format.h", '#  include "server/store/store.h"\n')
        self.write("agent/spool.cc", '#include "server/pipeline/ingest_pipeline.h"\n')
        problems = self.check()
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("agent/spool.cc:1: includes server/pipeline/ingest_pipeline.h: "
                      "agent may not include server/pipeline", problems[0])
        self.assertIn("common/event may not include server/store", problems[1])

    def test_unknown_folder_fails(self):
        self.write("common/unlisted/registry.cc", '#include "common/base/status.h"\n')
        self.write("server/net/x.cc", '#include "server/nowhere/y.h"\n')
        problems = self.check()
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("common/unlisted/registry.cc: its folder has no row", problems[0])
        self.assertIn("server/nowhere/y.h, whose folder has no row", problems[1])

    def test_forbidden_link_fails(self):
        links = os.path.join(self.root, "layers_links.tsv")
        with open(links, "w", encoding="utf-8") as f:
            f.write("tk_chain\ttk_wire;trailkeep_proto;OpenSSL::Crypto;tk_syslog\n")
            f.write("tk_pipeline\ttk_store;spdlog::spdlog\n")
        self.assertEqual(self.check(links), [])
        with open(links, "a", encoding="utf-8") as f:
            f.write("tk_wire\ttk_base;tk_syslog\n")
        self.assertEqual(self.check(links), [
            "tk_wire links tk_syslog: common/wire may not include common/syslog "
            "(cmake/layers.txt)"])

    def test_cycle_in_table_fails(self):
        with open(self.table, "a", encoding="utf-8") as f:
            f.write("server/extra  -  server/app\n")
        with open(self.table, encoding="utf-8") as f:
            text = f.read()
        with open(self.table, "w", encoding="utf-8") as f:
            # server/app's row also names server/extra: a cycle through the new row.
            f.write(re.sub(r"(?m)^(server/app\s+\S+\s+)", r"\1server/extra ", text))
        problems = self.check()
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("has a cycle", problems[0])
        self.assertIn("server/app -> server/extra -> server/app", problems[0])

    def test_command_line_exit_status(self):
        script = os.path.join(HERE, "check_layers.py")
        ok = subprocess.run([sys.executable, script, "--root", self.root],
                            capture_output=True, text=True)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.write("common/base/bytes.cc", '#include "common/wire/octet_framer.h"\n')
        bad = subprocess.run([sys.executable, script, "--root", self.root],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("common/base may not include common/wire", bad.stdout)


if __name__ == "__main__":
    unittest.main()
