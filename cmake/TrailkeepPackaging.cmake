# Install layout and Debian packages (`make package`, CPack's DEB generator).
#
# Three packages, one per install() component:
#   trailkeepd        the collector: /usr/bin/trailkeepd, its unit, the example
#                     configuration as the conffile /etc/trailkeep/trailkeepd.toml;
#                     postinst creates the system user trailkeep and /var/lib/trailkeep.
#   trailkeep         the agent and CLI: /usr/bin/trailkeep, trailkeep-forward.service,
#                     the auditd plugin file; postinst creates the system user
#                     trailkeep-agent. It links no RocksDB, so it depends on none.
#   trailkeep-common  the NDcPP rules in /usr/share/trailkeep, which both binaries
#                     read by default (common/ndcpp/rules.cc DefaultRulesPath:
#                     <exe dir>/../share/trailkeep, so /usr/bin finds /usr/share).
# The maintainer scripts are deploy/debian/<package>/{postinst,prerm,postrm}.
#
# Included from the top CMakeLists.txt before the subdirectories, which add
# their binaries with install(TARGETS ... COMPONENT collector|agent). The
# configuration and the units have absolute destinations (/etc, /lib): stage
# an install with DESTDIR=DIR cmake --install build, not with --prefix.
include_guard(GLOBAL)

# Packages install under /usr; GNUInstallDirs then maps etc and var to /etc
# and /var (its special case for the /usr prefix).
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)
# A Debian package's configuration lives in /etc, also when the build folder
# was first configured with another prefix (GNUInstallDirs maps only /usr to /etc).
set(TRAILKEEP_SYSCONF_DIR /etc)
# Full RELRO (lintian: hardening-no-bindnow): the GOT is read-only after start.
add_link_options(LINKER:-z,relro,-z,now)
set(TRAILKEEP_CONF_DIR ${TRAILKEEP_SYSCONF_DIR}/trailkeep)
# Debian 12 keeps packaged units in /lib/systemd/system (lintian checks it).
set(TRAILKEEP_UNIT_DIR /lib/systemd/system CACHE PATH "systemd system unit folder")
set(TRAILKEEP_DEB_DIR ${CMAKE_SOURCE_DIR}/deploy/debian)

# --- what each package holds, apart from the two binaries -------------------------------
install(FILES ${CMAKE_SOURCE_DIR}/deploy/ndcpp_rules.toml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/trailkeep COMPONENT common)

install(FILES ${CMAKE_SOURCE_DIR}/deploy/trailkeepd.toml DESTINATION ${TRAILKEEP_CONF_DIR}
        COMPONENT collector)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/trailkeepd.service DESTINATION ${TRAILKEEP_UNIT_DIR}
        COMPONENT collector)

install(FILES ${CMAKE_SOURCE_DIR}/deploy/trailkeep-forward.service
        DESTINATION ${TRAILKEEP_UNIT_DIR} COMPONENT agent)
# auditd 3.x reads its plugins from /etc/audit/plugins.d; the file ships with
# active = no (as audispd-plugins ships au-remote.conf) until [audisp] is set up.
install(FILES ${CMAKE_SOURCE_DIR}/deploy/audisp-trailkeep.conf
        DESTINATION ${TRAILKEEP_SYSCONF_DIR}/audit/plugins.d RENAME trailkeep.conf
        COMPONENT agent)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/agent.toml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/trailkeep/examples COMPONENT agent)

# Debian policy 12.5 and 12.7: every package has its copyright file and a
# changelog, and each binary its manual page, compressed with gzip -9n (no
# timestamp, so builds repeat).
set(_tk_changelog_gz ${CMAKE_BINARY_DIR}/debian/changelog.gz)
add_custom_command(
  OUTPUT ${_tk_changelog_gz}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/debian
  COMMAND gzip -9nc ${TRAILKEEP_DEB_DIR}/changelog > ${_tk_changelog_gz}
  DEPENDS ${TRAILKEEP_DEB_DIR}/changelog
  COMMENT "Compressing the Debian changelog")
set(_tk_man_gz)
foreach(page trailkeepd.8 trailkeep.1)
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/debian/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/debian
    COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/deploy/man/${page} > ${CMAKE_BINARY_DIR}/debian/${page}.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/deploy/man/${page}
    COMMENT "Compressing the manual page ${page}")
  list(APPEND _tk_man_gz ${CMAKE_BINARY_DIR}/debian/${page}.gz)
endforeach()
add_custom_target(trailkeep_deb_docs ALL DEPENDS ${_tk_changelog_gz} ${_tk_man_gz})
install(FILES ${CMAKE_BINARY_DIR}/debian/trailkeepd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8
        COMPONENT collector)
install(FILES ${CMAKE_BINARY_DIR}/debian/trailkeep.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        COMPONENT agent)

set(_tk_docs_collector README.md docs/operations.md docs/configuration.md docs/api.md
                       docs/ndcpp.md docs/tunnels.md)
set(_tk_docs_agent docs/agent.md docs/operations.md)
foreach(pair "collector;trailkeepd" "agent;trailkeep" "common;trailkeep-common")
  list(GET pair 0 component)
  list(GET pair 1 package)
  set(doc ${CMAKE_INSTALL_DATADIR}/doc/${package})
  install(FILES ${TRAILKEEP_DEB_DIR}/copyright DESTINATION ${doc} COMPONENT ${component})
  install(FILES ${_tk_changelog_gz} DESTINATION ${doc} COMPONENT ${component})
  foreach(f IN LISTS _tk_docs_${component})
    install(FILES ${CMAKE_SOURCE_DIR}/${f} DESTINATION ${doc} COMPONENT ${component})
  endforeach()
  # Each override carries its justification as a comment in the file.
  if(EXISTS ${TRAILKEEP_DEB_DIR}/${package}/lintian-overrides)
    install(FILES ${TRAILKEEP_DEB_DIR}/${package}/lintian-overrides
            DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME ${package}
            COMPONENT ${component})
  endif()
endforeach()

# --- CPack --------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME trailkeep)
set(CPACK_PACKAGE_VENDOR "trailkeep")
set(CPACK_PACKAGE_CONTACT "trailkeep maintainers <maintainers@trailkeep.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_STRIP_FILES ON)  # lintian: unstripped-binary-or-object
set(CPACK_THREADS 2)
set(CPACK_COMPONENTS_ALL collector agent common)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING IGNORE)  # one package per component

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # NAME_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://trailkeep.example/")
# Depends from the binaries' ELF NEEDED entries (dpkg-shlibdeps), per package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)  # no shared libraries to offer
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)  # trailkeep-common (= version)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)  # scripts 0755, lists 0644

set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME trailkeepd)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME trailkeep)
set(CPACK_DEBIAN_COMMON_PACKAGE_NAME trailkeep-common)
set(CPACK_DEBIAN_COMMON_PACKAGE_ARCHITECTURE all)
# adduser: postinst creates the system users. procps: the unit's ExecReload
# runs /bin/kill, which a minimal Debian lacks (make test-install found it).
# The rest comes from shlibdeps.
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS adduser)
# The agent and CLI talk to a collector; the collector's host often runs one too.
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_SUGGESTS trailkeep)
set(CPACK_DEBIAN_AGENT_PACKAGE_SUGGESTS auditd)

set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION
    "tamper-evident syslog and audit collector
trailkeepd receives RFC 5425 syslog over TLS, signed and spooled events from
trailkeep agents, and auditd's remote protocol (also through reverse SSH
tunnels). It verifies each agent's HMAC chain, groups and interprets auditd
records, classifies events by NDcPP requirement, stores them in RocksDB and
serves them over an HTTPS API.")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "log forwarding agent and client for trailkeep collectors
trailkeep forward tails a host's logs and auditd's dispatcher, numbers and
HMAC-chains every event, spools it durably and sends it to a trailkeepd
collector with acknowledgements. The same binary queries and follows a
collector's HTTPS API and verifies exports offline.")
set(CPACK_COMPONENT_COMMON_DESCRIPTION
    "trailkeep NDcPP classification rules
The rules file that trailkeepd and trailkeep classify read by default: it
maps syslog and auditd events to NDcPP security functional requirements.")
set(CPACK_COMPONENT_COLLECTOR_DEPENDS common)
set(CPACK_COMPONENT_AGENT_DEPENDS common)

# Maintainer scripts, and conffiles: dpkg keeps an edited /etc file on
# upgrade and removes it only on purge.
set(_tk_gen ${CMAKE_BINARY_DIR}/debian)
file(MAKE_DIRECTORY ${_tk_gen}/collector ${_tk_gen}/agent)
file(WRITE ${_tk_gen}/collector/conffiles "${TRAILKEEP_CONF_DIR}/trailkeepd.toml\n")
file(WRITE ${_tk_gen}/agent/conffiles
     "${TRAILKEEP_SYSCONF_DIR}/audit/plugins.d/trailkeep.conf\n")
foreach(pair "COLLECTOR;collector;trailkeepd" "AGENT;agent;trailkeep")
  list(GET pair 0 upper)
  list(GET pair 1 component)
  list(GET pair 2 package)
  set(CPACK_DEBIAN_${upper}_PACKAGE_CONTROL_EXTRA
      ${TRAILKEEP_DEB_DIR}/${package}/postinst ${TRAILKEEP_DEB_DIR}/${package}/prerm
      ${TRAILKEEP_DEB_DIR}/${package}/postrm ${_tk_gen}/${component}/conffiles)
endforeach()

# CPack reads the components that install() declared when it is included:
# defer that to the end of the top directory, after server/ and agent/.
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL include CPack)
