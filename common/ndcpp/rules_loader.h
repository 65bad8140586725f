// Reading the rules file's TOML (format: common/ndcpp/rules.h) into rules,
// through the shared TomlReader, so errors carry the file and line as every
// configuration file's do.
#pragma once

#include <vector>

#include <toml++/toml.h>

#include "common/config/toml_reader.h"
#include "common/ndcpp/rule.h"

namespace trailkeep::ndcpp {

// Reads the `version` and every [[rule]] of `root` into *rules, in file
// order, validating each value (rule_validation.h) and the names' uniqueness.
// Every problem goes to *reader with its line; a rule with any is left out.
void ReadRules(const toml::table& root, TomlReader* reader, std::vector<Rule>* rules);

}  // namespace trailkeep::ndcpp
