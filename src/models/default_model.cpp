// The default story model (weights/default-model.gguf; weights/README.md says how it was
// trained), linked into the binary so `lm run "Once upon a time"` works from the one file.
#include "src/models/model.h"

#include "weights/error.h"
#include "weights/gguf.h"

#ifndef LM_BUILTIN_MODEL
#define LM_BUILTIN_MODEL 1
#endif

#if LM_BUILTIN_MODEL
// .incbin copies the file's bytes into .rodata at assembly time: no generated source, and
// the Makefile rebuilds this object when the model file changes.
__asm__(".section .rodata\n"
        ".balign 64\n"
        ".global lm_default_model_begin\n"
        "lm_default_model_begin:\n"
        ".incbin \"weights/default-model.gguf\"\n"
        ".global lm_default_model_end\n"
        "lm_default_model_end:\n"
        ".previous\n");

extern "C" const unsigned char lm_default_model_begin[];
extern "C" const unsigned char lm_default_model_end[];

namespace lm {

ModelFile load_default_model() {
    const std::string_view bytes(reinterpret_cast<const char*>(lm_default_model_begin),
                                 static_cast<size_t>(lm_default_model_end - lm_default_model_begin));
    return read_gguf(MappedFile::borrow("(built-in story model)", bytes));
}

}  // namespace lm

#else  // make LM_BUILTIN_MODEL=0: a binary 2.8 MB smaller, without the story model

namespace lm {

ModelFile load_default_model() {
    fail("this lm was built without the built-in story model (LM_BUILTIN_MODEL=0): pass MODEL.gguf");
}

}  // namespace lm

#endif
