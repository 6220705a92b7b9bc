# libcodedtrain: the engine (every area but the CLI) as one library a third party can
# link, built twice from the same objects: shared (libcodedtrain.so.MAJOR.MINOR, SONAME
# libcodedtrain.so.MAJOR.MINOR while the version is 0.x and the ABI moves) and static
# (libcodedtrain.a). The per-area libraries stay: tests link only the area they test.
set(CT_LIBRARY_AREAS ct_base ct_codes ct_kernels ct_nn ct_host)
set(CT_LIBRARY_OBJECTS "")
foreach(area ${CT_LIBRARY_AREAS})
  list(APPEND CT_LIBRARY_OBJECTS $<TARGET_OBJECTS:${area}>)
endforeach()

# What the areas link from outside the project, gathered once for both libraries.
set(CT_EXTERNAL_LIBS ${LAPACKE_LIB} ${OPENBLAS_LIB} ZLIB::ZLIB Threads::Threads)
if(M_LIB)
  list(APPEND CT_EXTERNAL_LIBS ${M_LIB})
endif()
if(CT_HAVE_CUDA)
  # the .cu objects use the C++ runtime (static guards); C consumers do not link it otherwise
  list(APPEND CT_EXTERNAL_LIBS CUDA::cudart_static CUDA::cublas stdc++)
endif()
if(CT_HAVE_MPI)
  list(APPEND CT_EXTERNAL_LIBS MPI::MPI_C)
endif()
if(CT_HAVE_NCCL)
  list(APPEND CT_EXTERNAL_LIBS ${NCCL_LIBRARY})
endif()

foreach(kind shared static)
  string(TOUPPER ${kind} KIND)
  add_library(codedtrain_${kind} ${KIND} ${CT_LIBRARY_OBJECTS})
  set_target_properties(codedtrain_${kind} PROPERTIES OUTPUT_NAME codedtrain LINKER_LANGUAGE C)
  # consumers see only include/ (the public API is self-contained: test_public_headers)
  target_include_directories(codedtrain_${kind} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                       $<INSTALL_INTERFACE:include>)
endforeach()
# imported names (in-tree aliases and the exported package): codedtrain::codedtrain (shared),
# codedtrain::codedtrain_static
set_target_properties(codedtrain_shared PROPERTIES EXPORT_NAME codedtrain)
set_target_properties(codedtrain_static PROPERTIES EXPORT_NAME codedtrain_static)
add_library(codedtrain::codedtrain ALIAS codedtrain_shared)
add_library(codedtrain::codedtrain_static ALIAS codedtrain_static)
set_target_properties(codedtrain_shared PROPERTIES
  INSTALL_RPATH_USE_LINK_PATH ON # cuBLAS and NCCL live outside the loader's default path
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
# the shared library carries its dependencies; a static archive hands them on
target_link_libraries(codedtrain_shared PRIVATE ${CT_EXTERNAL_LIBS})
target_link_libraries(codedtrain_static INTERFACE ${CT_EXTERNAL_LIBS})
