# Third-party dependencies, all from Debian 12 packages (deploy/install-build-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(Protobuf 3.21 REQUIRED)
# RocksDB's own CMake package drags in gflags and Snappy lookups; the shared
# library and its headers are all we need.
find_library(ROCKSDB_LIBRARY NAMES rocksdb REQUIRED)
find_path(ROCKSDB_INCLUDE_DIR rocksdb/db.h REQUIRED)
add_library(tk_rocksdb INTERFACE)
target_link_libraries(tk_rocksdb INTERFACE ${ROCKSDB_LIBRARY})
target_include_directories(tk_rocksdb SYSTEM INTERFACE ${ROCKSDB_INCLUDE_DIR})
find_package(spdlog REQUIRED CONFIG)
find_package(fmt REQUIRED CONFIG)
find_package(tomlplusplus REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(nlohmann_json 3.11 REQUIRED CONFIG)
# jemalloc for the collector: events are allocated on I/O threads and freed on
# the committer thread, the pattern glibc malloc handles worst (docs/performance.md).
find_library(JEMALLOC_LIBRARY NAMES jemalloc REQUIRED)

if(TRAILKEEP_BUILD_TESTS)
  find_package(GTest REQUIRED CONFIG)
endif()

# Asio is used header-only with separate compilation disabled; keep it out of
# widely included headers (only net/ and app/ .cc files include it).
add_library(tk_asio INTERFACE)
target_link_libraries(tk_asio INTERFACE Boost::boost Threads::Threads OpenSSL::SSL OpenSSL::Crypto)
target_compile_definitions(tk_asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_BOOST_REGEX
                                             BOOST_ERROR_CODE_HEADER_ONLY)
