// smallthinker::Tokenizer: the public face of st::Tokenizer. Apart from model.cc so that programs
// holding an engine tokenizer without a Model (the fuzzers) link these and nothing of the engine.
#include "smallthinker/model.h"
#include "text/tokenizer.h"

namespace smallthinker {

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->Encode(text, add_bos, parse_special);
}
const std::string& Tokenizer::TokenToPiece(int32_t id, bool render_special) const {
  return impl_->TokenToPiece(id, render_special);
}
std::string Tokenizer::Decode(std::span<const int32_t> ids, bool render_special) const {
  return impl_->Decode(ids, render_special);
}
bool Tokenizer::IsEndOfGeneration(int32_t id) const { return impl_->IsEndOfGeneration(id); }
const std::vector<int32_t>& Tokenizer::end_of_generation_ids() const { return impl_->end_of_generation_ids(); }
std::optional<int32_t> Tokenizer::FindAddedToken(std::string_view text) const { return impl_->FindAddedToken(text); }
int32_t Tokenizer::n_vocab() const { return impl_->n_vocab(); }
int32_t Tokenizer::bos() const { return impl_->bos(); }
int32_t Tokenizer::eos() const { return impl_->eos(); }
bool Tokenizer::add_bos() const { return impl_->add_bos(); }
bool Tokenizer::AddBosFor(std::string_view rendered) const { return impl_->AddBosFor(rendered); }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template(); }

}  // namespace smallthinker
