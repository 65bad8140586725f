# Include directories from the layers table (cmake/layers.txt).
#
# Includes are rooted at the repository ("server/store/store.h"), but there is
# no global include path: each folder of the table is linked alone into
# build/include/<folder with _ for />/<folder>, and that root is the PUBLIC
# include directory of the folder's targets. A target that links tk_store
# sees server/store/*.h and nothing else of server/; one that links tk_pipeline
# does not see tk_pipeline's PRIVATE dependencies. The links themselves are
# stated in each CMakeLists.txt; ctest layers_check holds them to the table.

set(TRAILKEEP_LAYERS_TABLE ${CMAKE_SOURCE_DIR}/cmake/layers.txt)
set(TRAILKEEP_LAYERS_LINKS ${CMAKE_BINARY_DIR}/layers_links.tsv)

# trailkeep_folder_headers(target PUBLIC|PRIVATE|INTERFACE folder...): `target`
# (and, for PUBLIC, whoever links it) includes FOLDER/x.h as "FOLDER/x.h".
function(trailkeep_folder_headers target scope)
  foreach(folder ${ARGN})
    string(REPLACE "/" "_" root ${folder})
    set(root ${CMAKE_BINARY_DIR}/include/${root})
    if(NOT IS_SYMLINK ${root}/${folder})
      get_filename_component(parent ${root}/${folder} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${CMAKE_SOURCE_DIR}/${folder} ${root}/${folder} SYMBOLIC)
    endif()
    target_include_directories(${target} ${scope} ${root})
  endforeach()
endfunction()

# The non-INTERFACE libraries named tk_* defined in `dir` and below, but
# tests/ (the fuzz build's own libraries).
function(_trailkeep_libraries dir out)
  set(found "")
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(t MATCHES "^tk_" AND NOT type STREQUAL "INTERFACE_LIBRARY")
      list(APPEND found ${t})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    if(NOT sub MATCHES "^${CMAKE_SOURCE_DIR}/tests(/|$)")
      _trailkeep_libraries(${sub} more)
      list(APPEND found ${more})
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# trailkeep_apply_layers(): once every target is defined. Gives each target of
# the table its folder's headers, refuses a tk_* library without a row, and
# writes every table target's links for layers_check.
function(trailkeep_apply_layers)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${TRAILKEEP_LAYERS_TABLE})
  file(STRINGS ${TRAILKEEP_LAYERS_TABLE} rows REGEX "^[^# \t]")
  set(known "")
  set(links "")
  foreach(row ${rows})
    string(REGEX REPLACE "[ \t]+" ";" cols "${row}")
    list(GET cols 0 folder)
    list(GET cols 1 targets)
    if(targets STREQUAL "-")
      continue()
    endif()
    string(REPLACE "," ";" targets ${targets})
    # Folders without headers in the source (proto: generated) need no link.
    file(GLOB headers ${CMAKE_SOURCE_DIR}/${folder}/*.h)
    foreach(t ${targets})
      list(APPEND known ${t})
      if(NOT TARGET ${t})
        continue()  # not in this build (fuzz build without tests)
      endif()
      if(headers)
        trailkeep_folder_headers(${t} PUBLIC ${folder})
      endif()
      get_target_property(deps ${t} LINK_LIBRARIES)
      if(NOT deps)
        set(deps "")
      endif()
      string(APPEND links "${t}\t${deps}\n")
    endforeach()
  endforeach()
  _trailkeep_libraries(${CMAKE_SOURCE_DIR} libraries)
  foreach(t ${libraries})
    if(NOT t IN_LIST known)
      message(FATAL_ERROR "${t} has no row in cmake/layers.txt: add its folder, its targets "
                          "and the folders it may include")
    endif()
  endforeach()
  file(CONFIGURE OUTPUT ${TRAILKEEP_LAYERS_LINKS} CONTENT "${links}" @ONLY)
endfunction()
