// The header in a C++ translation unit: it compiles with -std=c++11 -Wall -Wextra -Werror,
// and the API works from C++ (usage: test_cpp MODEL WORD..., prints one tag per line).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "postag.h"

static_assert(sizeof(postag_model) == POSTAG_MODEL_SIZE, "postag_model has the advertised size");
static_assert(sizeof(postag_status) == 4, "status codes are 32-bit");

namespace {

std::string name_of(const postag_model &model, uint16_t tag) {
    char buf[128];
    size_t len = 0;
    if (postag_tag_name_copy(&model, tag, buf, sizeof buf, &len) != POSTAG_STATUS_OK) {
        return "?";
    }
    return std::string(buf, len);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL WORD...\n", argv[0]);
        return 2;
    }
    std::ifstream file(argv[1], std::ios::binary);
    const std::vector<uint8_t> blob((std::istreambuf_iterator<char>(file)),
                                    std::istreambuf_iterator<char>());
    postag_model model;
    postag_status status = postag_model_load(blob.data(), blob.size(), &model);
    if (status != POSTAG_STATUS_OK) {
        std::fprintf(stderr, "load: %s\n", postag_status_str(status));
        return 1;
    }
    postag_model_info info;
    if (postag_model_get_info(&model, &info) != POSTAG_STATUS_OK || info.blob_len != blob.size()) {
        return 1;
    }
    std::vector<postag_token> tokens;
    for (int i = 2; i < argc; i++) {
        postag_token t = {reinterpret_cast<const uint8_t *>(argv[i]), std::strlen(argv[i])};
        tokens.push_back(t);
    }
    size_t scratch_len = 0;
    if (postag_scratch_size(&model, tokens.size(), &scratch_len) != POSTAG_STATUS_OK) {
        return 1;
    }
    std::vector<uint8_t> scratch(scratch_len);
    std::vector<uint16_t> tags(tokens.size());
    std::vector<float> scores(tokens.size() * info.num_tags);
    status = postag_tag(&model, tokens.data(), tokens.size(), scratch.data(), scratch.size(),
                        tags.data(), tags.size(), scores.data(), scores.size());
    if (status != POSTAG_STATUS_OK) {
        std::fprintf(stderr, "tag: %s\n", postag_status_str(status));
        return 1;
    }
    for (size_t i = 0; i < tags.size(); i++) {
        std::printf("%s\t%s\n", argv[i + 2], name_of(model, tags[i]).c_str());
    }
    return 0;
}
