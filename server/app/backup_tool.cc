#include "server/app/backup_tool.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/api/api_client.h"
#include "common/api/backup_call.h"
#include "server/app/config.h"

namespace trailkeep {
namespace {

// The first API address the running collector wrote to data_dir/ports.json,
// as a URL a local client can reach.
Result<std::string> ServerFromPorts(const std::string& data_dir) {
  const std::string path = data_dir + "/ports.json";
  std::ifstream in(path);
  if (!in) {
    return Status::NotFound("no running collector found: " + path +
                            " does not exist (start trailkeepd, or give --server URL)");
  }
  const auto ports = nlohmann::json::parse(in, nullptr, false);
  const auto it = ports.is_object() ? ports.find("export") : ports.end();
  if (it == ports.end() || !it->is_array() || it->empty() || !it->front().is_string()) {
    return Status::InvalidArgument(path + " names no API address (give --server URL)");
  }
  std::string address = it->front().get<std::string>();
  if (address.rfind("0.0.0.0:", 0) == 0) address = "127.0.0.1" + address.substr(7);
  if (address.rfind("[::]:", 0) == 0) address = "[::1]" + address.substr(4);
  return "https://" + address;
}

}  // namespace

int RunBackupTool(const BackupToolOptions& o) {
  ClientOptions client;
  client.server = o.server;
  client.cacert = o.cacert;
  client.token_file = o.token_file;
  client.cert = o.cert;
  client.key = o.key;
  std::string data_dir;
  if (!o.dev_dir.empty()) {
    const std::string root = std::filesystem::absolute(o.dev_dir).lexically_normal().string();
    data_dir = root + "/data";
    if (client.cacert.empty()) client.cacert = root + "/pki/ca.pem";
    if (client.token_file.empty() && client.cert.empty()) client.token_file = root + "/admin.token";
  } else if (!o.config_file.empty()) {
    ServerConfig config;
    const auto errors = LoadConfig(o.config_file, &config);
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    if (!errors.empty()) return 2;
    data_dir = config.data_dir;
    if (client.cacert.empty()) client.cacert = config.syslog.tls.ca_file;
  } else {
    std::cerr << "trailkeepd backup: give --config FILE or --dev DIR\n";
    return 2;
  }
  if (client.server.empty()) {
    auto server = ServerFromPorts(data_dir);
    if (!server.ok()) {
      std::cerr << "trailkeepd backup: " << server.status().message() << "\n";
      return 1;
    }
    client.server = server.value();
  }
  auto api = ApiClient::Create(client);
  if (!api.ok()) {
    std::cerr << "trailkeepd backup: " << api.status().message() << "\n";
    return 2;
  }
  auto line = RequestBackup(api.value().get());
  if (!line.ok()) {
    std::cerr << "trailkeepd backup: " << client.server << ": " << line.status().message() << "\n";
    return 1;
  }
  std::cout << line.value() << "\n";
  return 0;
}

}  // namespace trailkeep
