/* Sentence embeddings through the installed C API, one line per text as `lm embed MODEL
 * TEXT...` prints them. usage: embed MODEL TEXT... */
#include <lm.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: embed MODEL TEXT...\n");
        return 2;
    }
    lm_model* model = NULL;
    lm_context* context = NULL;
    if (lm_model_load(argv[1], &model) != LM_OK || lm_context_new(model, NULL, &context) != LM_OK) {
        fprintf(stderr, "embed: %s\n", lm_last_error());
        return 1;
    }
    int32_t dim = lm_model_embedding_size(model);
    float* v = malloc(sizeof(float) * (size_t)dim);
    int status = 0;
    for (int i = 2; i < argc && status == 0; ++i) {
        if (lm_embed(context, argv[i], LM_POOLING_MODEL, v, dim) != LM_OK) {
            fprintf(stderr, "embed: %s\n", lm_last_error());
            status = 1;
            break;
        }
        for (int32_t j = 0; j < dim; ++j) printf(j ? " %.7g" : "%.7g", v[j]);
        printf("\n");
    }
    free(v);
    lm_context_free(context);
    lm_model_free(model);
    return status;
}
