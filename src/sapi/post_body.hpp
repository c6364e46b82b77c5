// Request bodies kept in memory. PHP buffers a request body (what php://input reads, and what
// $_POST is parsed from) in a php://temp stream that moves to a file in upload_tmp_dir past
// 16 KiB: every POST above that creates, writes, reads back and removes a temporary file, in
// every SAPI (php-fpm's too). php-pool keeps bodies up to kBodyInMemory in memory; larger ones
// go to a file as before. Multipart uploads are not concerned: PHP writes each uploaded file to
// upload_tmp_dir itself, as $_FILES promises.
#pragma once

#include <cstddef>

namespace php_pool::sapi {

constexpr size_t kBodyInMemory = 2u << 20;

// After module startup, in the manager (workers inherit it): PHP's readers of request bodies,
// for form data and for any other type, replaced by the same reading with the larger buffer.
// Readers an extension installed instead (mbstring's encoding translation, ...) are kept.
void keep_request_bodies_in_memory();

}  // namespace php_pool::sapi
