# Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE). A .deb must come from a tree
# configured with -DCMAKE_INSTALL_PREFIX=/usr: the config path, the unit's ExecStart and the
# conffiles list are fixed at configure time, and a package must not install under /usr/local.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR
    "wa-router: the Debian package needs a build tree configured with "
    "-DCMAKE_INSTALL_PREFIX=/usr (this one has ${CPACK_PACKAGING_INSTALL_PREFIX})")
endif()
