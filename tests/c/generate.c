/* Greedy generation through the installed C API: prints the prompt, then what the model
 * writes after it, as `lm run MODEL PROMPT --temp 0 -n N` prints it to stdout.
 * usage: generate MODEL PROMPT N */
#include <lm.h>
#include <stdio.h>
#include <stdlib.h>

static int print_piece(void* user_data, int32_t token, const char* text, size_t length) {
    (void)user_data;
    (void)token;
    fwrite(text, 1, length, stdout);
    return 0; /* go on */
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: generate MODEL PROMPT N\n");
        return 2;
    }
    lm_model* model = NULL;
    lm_context* context = NULL;
    lm_sampler* sampler = NULL;
    lm_sampler_params sp = lm_sampler_default_params();
    sp.temperature = 0.0f;
    int32_t generated = 0;
    if (lm_model_load(argv[1], &model) != LM_OK || lm_context_new(model, NULL, &context) != LM_OK ||
        lm_sampler_new(model, &sp, &sampler) != LM_OK) {
        fprintf(stderr, "generate: %s\n", lm_last_error());
        return 1;
    }
    fputs(argv[2], stdout);
    lm_status status = lm_generate(context, sampler, argv[2], atoi(argv[3]), print_piece, NULL, &generated);
    if (status != LM_OK) fprintf(stderr, "generate: %s\n", lm_last_error());
    lm_sampler_free(sampler);
    lm_context_free(context);
    lm_model_free(model);
    return status == LM_OK ? 0 : 1;
}
