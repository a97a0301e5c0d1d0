/* Four threads, each with its own context of one shared model, generate at once; each must
 * produce exactly what one thread alone produces. Built with -fsanitize=thread by
 * `make test-tsan`. usage: threads MODEL */
#include <lm.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { N_THREADS = 4, N_PREDICT = 24, MAX_TOKENS = 64 };

static const char* const kPrompts[N_THREADS] = {"Once upon a time", "The dog", "Lily wanted", "One day"};

struct job {
    lm_model* model;
    const char* prompt;
    int32_t tokens[MAX_TOKENS];
    int32_t n;
    int status;
};

static int keep(void* user_data, int32_t token, const char* text, size_t length) {
    (void)text;
    (void)length;
    struct job* j = user_data;
    if (token >= 0 && j->n < MAX_TOKENS) j->tokens[j->n++] = token;
    return 0;
}

static void* run(void* arg) {
    struct job* j = arg;
    lm_context_params cp = lm_context_default_params();
    cp.n_threads = 1;
    cp.n_ctx = 128;
    lm_sampler_params sp = lm_sampler_default_params();
    sp.seed = 7;
    lm_context* context = NULL;
    lm_sampler* sampler = NULL;
    j->n = 0;
    j->status = lm_context_new(j->model, &cp, &context);
    if (j->status == LM_OK) j->status = lm_sampler_new(j->model, &sp, &sampler);
    if (j->status == LM_OK) j->status = lm_generate(context, sampler, j->prompt, N_PREDICT, keep, j, NULL);
    if (j->status != LM_OK) fprintf(stderr, "threads: %s\n", lm_last_error());
    lm_sampler_free(sampler);
    lm_context_free(context);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: threads MODEL\n");
        return 2;
    }
    lm_model* model = NULL;
    if (lm_model_load(argv[1], &model) != LM_OK) {
        fprintf(stderr, "threads: %s\n", lm_last_error());
        return 1;
    }
    struct job alone[N_THREADS], together[N_THREADS];
    for (int i = 0; i < N_THREADS; ++i) {
        alone[i].model = together[i].model = model;
        alone[i].prompt = together[i].prompt = kPrompts[i];
        run(&alone[i]);
    }
    pthread_t threads[N_THREADS];
    for (int i = 0; i < N_THREADS; ++i) pthread_create(&threads[i], NULL, run, &together[i]);
    for (int i = 0; i < N_THREADS; ++i) pthread_join(threads[i], NULL);
    int failed = 0;
    for (int i = 0; i < N_THREADS; ++i) {
        if (alone[i].status || together[i].status || alone[i].n != together[i].n || alone[i].n == 0 ||
            memcmp(alone[i].tokens, together[i].tokens, sizeof(int32_t) * (size_t)alone[i].n) != 0) {
            fprintf(stderr, "threads: thread %d generated %d tokens, alone %d, or other ones\n", i, together[i].n,
                    alone[i].n);
            failed = 1;
        }
    }
    lm_model_free(model);
    if (!failed) printf("threads: %d threads x %d tokens, each as generated alone\n", N_THREADS, N_PREDICT);
    return failed;
}
