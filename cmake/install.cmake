# Installing convoy: the library, its public headers, the c_node daemon, a CMake package
# (find_package(convoy) -> convoy::convoy), convoy.pc, the systemd unit and the docs; and a
# .deb of all that through CPack (./run package).
include(CMakePackageConfigHelpers)

set(CONVOY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/convoy)

install(TARGETS convoy EXPORT convoyTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/convoy ${PROJECT_BINARY_DIR}/include/convoy
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev FILES_MATCHING PATTERN "*.hpp")
install(TARGETS c_node RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT daemon)

install(EXPORT convoyTargets NAMESPACE convoy:: DESTINATION ${CONVOY_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/convoyConfig.cmake.in
  ${PROJECT_BINARY_DIR}/convoyConfig.cmake INSTALL_DESTINATION ${CONVOY_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/convoyConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)  # 0.x: a minor release may break the API
install(FILES ${PROJECT_BINARY_DIR}/convoyConfig.cmake
              ${PROJECT_BINARY_DIR}/convoyConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindErlInterface.cmake
        DESTINATION ${CONVOY_CMAKE_DIR} COMPONENT dev)

# pkg-config: the library is static, so what it links goes in Libs, not Libs.private
# (`pkg-config --libs convoy` must be enough to link). ei has no .pc file: its path is the
# one this build found.
set(CONVOY_PC_REQUIRES "fmt spdlog libcrypto ldns")
set(CONVOY_PC_LIBS "${ErlInterface_LIBRARY}")
file(RELATIVE_PATH CONVOY_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" CONVOY_PC_TO_PREFIX "${CONVOY_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/convoy.pc.in ${PROJECT_BINARY_DIR}/convoy.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/convoy.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# The systemd unit (deploy/systemd/); under the prefix, so a .deb puts it in
# /usr/lib/systemd/system and a scratch prefix keeps it out of the machine's.
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/convoy.service
        DESTINATION lib/systemd/system COMPONENT daemon)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/SECURITY.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT daemon)
# The deploy kit's examples (Consul service definition, ...) and its README.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/deploy
        COMPONENT daemon)

set(CPACK_PACKAGE_NAME convoy)
set(CPACK_PACKAGE_VENDOR "convoy")
set(CPACK_PACKAGE_CONTACT "convoy maintainers <convoy@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Native C++ peer for Erlang/Elixir clusters (c_node daemon and library), without epmd")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# What a program built against the installed library needs to link (the daemon itself
# needs only what dpkg-shlibdeps finds).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "erlang-dev, libssl-dev, libldns-dev, libfmt-dev, libspdlog-dev")
include(CPack)
