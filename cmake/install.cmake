# `cmake --install`: public headers, both libraries, the CLI, an exported CMake package
# (find_package(codedtrain) -> codedtrain::codedtrain, codedtrain::codedtrain_static) and
# a pkg-config file (codedtrain.pc; `pkg-config --static` adds what the archive needs).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(CT_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/codedtrain)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/codedtrain DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(TARGETS codedtrain_shared codedtrain_static EXPORT codedtrainTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS codedtrain RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT codedtrainTargets NAMESPACE codedtrain:: DESTINATION ${CT_CMAKE_INSTALL_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/codedtrainConfig.cmake.in
  ${CMAKE_BINARY_DIR}/codedtrainConfig.cmake INSTALL_DESTINATION ${CT_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/codedtrainConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion) # 0.x: minor versions break the ABI
install(FILES ${CMAKE_BINARY_DIR}/codedtrainConfig.cmake ${CMAKE_BINARY_DIR}/codedtrainConfigVersion.cmake
        DESTINATION ${CT_CMAKE_INSTALL_DIR})

# pkg-config: the external libraries as linker arguments (imported targets spelled out)
set(CT_PC_LIBS_PRIVATE "")
foreach(lib ${CT_EXTERNAL_LIBS})
  if(lib STREQUAL "ZLIB::ZLIB")
    list(APPEND CT_PC_LIBS_PRIVATE ${ZLIB_LIBRARIES})
  elseif(lib STREQUAL "Threads::Threads")
    list(APPEND CT_PC_LIBS_PRIVATE -pthread)
  elseif(lib STREQUAL "MPI::MPI_C")
    list(APPEND CT_PC_LIBS_PRIVATE ${MPI_C_LIBRARIES})
  elseif(lib STREQUAL "CUDA::cudart_static")
    list(APPEND CT_PC_LIBS_PRIVATE ${CUDA_cudart_static_LIBRARY} -ldl -lrt)
  elseif(lib STREQUAL "CUDA::cublas")
    list(APPEND CT_PC_LIBS_PRIVATE ${CUDA_cublas_LIBRARY})
  elseif(lib STREQUAL "stdc++")
    list(APPEND CT_PC_LIBS_PRIVATE -lstdc++)
  else()
    list(APPEND CT_PC_LIBS_PRIVATE ${lib})
  endif()
endforeach()
list(JOIN CT_PC_LIBS_PRIVATE " " CT_PC_LIBS_PRIVATE)
# relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix)
file(RELATIVE_PATH CT_PC_TO_PREFIX /ct/${CMAKE_INSTALL_LIBDIR}/pkgconfig /ct)
string(REGEX REPLACE "/$" "" CT_PC_TO_PREFIX "${CT_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/codedtrain.pc.in ${CMAKE_BINARY_DIR}/codedtrain.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/codedtrain.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
