// ConfigRendering: a configuration file as a canonical list of settings, for
// the digest the collector records at start-up and on every SIGHUP
// (config_trail.h) and for naming the settings an edit changed.
//
// Every leaf of the parsed TOML document becomes one entry "dotted.key" ->
// canonical value: tables are flattened ("tls.ca_file"), arrays of tables
// are indexed ("listen.syslog[0].address"), arrays of values are one
// setting ("tls.permitted_peers" -> ["a", "b"]), keys that are not bare
// are quoted ("plain_syslog.hosts.\"10.0.0.0/8\""). Values are rendered
// independently of how they were written: strings double-quoted with JSON
// escapes, integers in decimal (0x10 and 16 are the same setting), floats,
// booleans and dates as TOML prints them. So comments, blank lines, the
// order of keys and tables, quoting style and number bases do not change
// the rendering; any change of a value, or a key added or removed, does
// (a key added with its default value too: what the operator wrote is
// what is recorded, docs/event-schema.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "common/base/status.h"

namespace trailkeep {

using ConfigRendering = std::map<std::string, std::string>;  // dotted key -> value

ConfigRendering RenderConfig(const toml::table& root);

// Reads and parses `path`; a syntax error or an unreadable file is an
// InvalidArgument naming the file (and line). *file_sha256 (optional): the
// SHA-256 of the bytes read, set whenever the file could be read.
Result<ConfigRendering> RenderConfigFile(const std::string& path,
                                         std::string* file_sha256 = nullptr);

// One "key = value\n" line per setting, in key order: what the digest covers.
std::string CanonicalText(const ConfigRendering& rendering);

// Lower-case hex SHA-256 of CanonicalText.
std::string RenderingSha256(const ConfigRendering& rendering);

// The keys added, removed or with another value in `after`, in key order.
std::vector<std::string> ChangedKeys(const ConfigRendering& before, const ConfigRendering& after);

}  // namespace trailkeep
