# cmake -DIN=<file> -DOUT=<file.cpp> -DNAMESPACE=<ns> -DFUNCTION=<fn> -P EmbedText.cmake
# Embeds a text asset in the binary as a function returning std::string_view.
file(READ ${IN} content)
string(FIND "${content}" ")vigil_asset\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT} "// Generated from ${IN} by cmake/EmbedText.cmake; do not edit.\n#include <string_view>\nnamespace ${NAMESPACE} {\nstd::string_view ${FUNCTION}() {\n  static constexpr std::string_view text = R\"vigil_asset(${content})vigil_asset\";\n  return text;\n}\n}  // namespace ${NAMESPACE}\n")
