#include "sapi/pathinfo.hpp"

#include <strings.h>
#include <sys/stat.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace php_pool::sapi {

const std::string* Env::get(std::string_view name) const {
  return fastcgi::find_param(params_, name);
}

// The last of a name sent twice is the one that counts (find_param): change that one.
void Env::set(std::string_view name, std::string_view value) {
  for (auto p = params_.rbegin(); p != params_.rend(); ++p)
    if (p->first == name) {
      p->second.assign(value);
      return;
    }
  params_.emplace_back(std::string(name), std::string(value));
}

void Env::unset(std::string_view name) {
  std::erase_if(params_, [&](const fastcgi::Param& p) { return p.first == name; });
}

bool is_valid_path(std::string_view p) {
  for (size_t i = p.find(".."); i != std::string_view::npos; i = p.find("..", i + 1)) {
    bool start_ok = i == 0 || p[i - 1] == '/';
    bool end_ok = i + 2 == p.size() || p[i + 2] == '/';
    if (start_ok && end_ok) return false;
  }
  return true;
}

namespace {

using Opt = std::optional<std::string>;

Opt copy(const std::string* s) {
  return s ? Opt(*s) : std::nullopt;
}

std::string url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] == '%' && i + 2 < in.size() && isxdigit((unsigned char)in[i + 1]) &&
        isxdigit((unsigned char)in[i + 2])) {
      out.push_back(char(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

bool default_is_regular(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// php-fpm asks tsrm_realpath(), which its realpath cache answers without syscalls after the
// first request; stat() gives the same answer (does it resolve?) in one syscall, where libc's
// realpath() costs a readlink per path component on every request.
bool default_exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// Strips Apache's "proxy:fcgi://host:port" / "proxy:balancer://name" prefix and query.
bool strip_apache_prefix(std::string& sf) {
  for (const char* prefix : {"proxy:fcgi://", "proxy:balancer://"}) {
    size_t n = strlen(prefix);
    if (sf.size() < n || strncasecmp(sf.c_str(), prefix, n) != 0) continue;
    size_t slash = sf.find('/', n);
    bool stripped = false;
    if (slash != std::string::npos) {
      sf.erase(0, slash);
      stripped = true;
    }
    size_t q = sf.find('?');
    if (q != std::string::npos) sf.resize(q);
    if (stripped) return true;
  }
  return false;
}

}  // namespace

ScriptInfo resolve_script(Env& env, const PathOptions& o) {
  auto is_regular = o.is_regular_file ? o.is_regular_file : default_is_regular;
  auto exists = o.exists ? o.exists : default_exists;
  ScriptInfo out;

  Opt sf = copy(env.get("SCRIPT_FILENAME"));
  Opt pt_env = copy(env.get("PATH_TRANSLATED"));
  Opt script = sf ? sf : pt_env;
  if (!script) return out;  // nothing to run: 404

  Opt path_info = copy(env.get("PATH_INFO"));
  Opt script_name = copy(env.get("SCRIPT_NAME"));

  bool apache = false;
  if (sf) {
    std::string s = *sf;
    apache = strip_apache_prefix(s);
    if (s != *sf) {
      env.set("SCRIPT_FILENAME", s);
      sf = s;
      script = s;
    }
    if (apache && !o.script_path_encoded) {
      sf = url_decode(*sf);
      env.set("SCRIPT_FILENAME", *sf);
      script = sf;
    }
  }

  if (!o.fix_pathinfo) {
    out.script_name = path_info ? path_info : script_name;
    if (!o.discard_path && pt_env) script = pt_env;
    if (script && is_valid_path(*script)) out.path_translated = script;
    return out;
  }

  Opt docroot = copy(env.get("DOCUMENT_ROOT"));
  if (!docroot && !o.doc_root.empty()) {
    env.set("DOCUMENT_ROOT", o.doc_root);
    docroot = o.doc_root;
  }
  Opt redirect_url = copy(env.get("REDIRECT_URL"));
  const Opt orig_pt = pt_env, orig_pi = path_info, orig_sn = script_name, orig_sf = sf;

  // Apache mod_fastcgi (not mod_proxy_fcgi): SCRIPT_FILENAME names the interpreter.
  if (!apache && pt_env && redirect_url && *pt_env != *script) {
    script = pt_env;
    script_name = redirect_url;
  }

  if (!script->empty() && (script->back() == '/' || !exists(*script))) {
    // The file does not exist: walk back through '/' to find the script, the rest is PATH_INFO.
    std::string pt = *script;
    bool found = false;
    for (size_t pos = pt.rfind('/'); pos != std::string::npos; pos = pt.rfind('/')) {
      pt.resize(pos);
      if (!is_regular(pt)) continue;
      size_t slen = script->size() - pt.size();
      size_t pilen = path_info ? path_info->size() : 0;
      Opt new_pi;
      bool tflag;
      if (apache) {
        new_pi = script->substr(pt.size());
        tflag = slen != 0 && (!orig_pi || *orig_pi != *new_pi);
      } else {
        if (path_info && pilen > slen) new_pi = path_info->substr(pilen - slen);
        tflag = new_pi.has_value();
      }
      if (tflag) {
        Opt decoded;
        if (orig_pi) {
          env.set("ORIG_PATH_INFO", *orig_pi);
          std::string sn = orig_pi->substr(0, pilen - slen);
          if (!orig_sn || *orig_sn != sn) {
            if (orig_sn) env.set("ORIG_SCRIPT_NAME", *orig_sn);
            env.set("SCRIPT_NAME", sn);
            out.script_name = sn;
          } else {
            out.script_name = orig_sn;
          }
        } else if (apache && script_name) {
          // mod_proxy_fcgi + ProxyPass cannot set PATH_INFO: it is still in SCRIPT_NAME.
          if (o.script_path_encoded && new_pi->find('%') != std::string::npos)
            decoded = url_decode(*new_pi);
          const std::string& sn = *script_name;
          auto strip = [&](const std::string& suffix) {
            if (sn.size() > suffix.size() &&
                sn.compare(sn.size() - suffix.size(), suffix.size(), suffix) == 0) {
              env.set("ORIG_SCRIPT_NAME", *orig_sn);
              std::string base = sn.substr(0, sn.size() - suffix.size());
              env.set("SCRIPT_NAME", base);
              out.script_name = base;
              return true;
            }
            return false;
          };
          if (!(sn.size() > slen && strip(*new_pi))) {
            if (decoded) strip(*decoded);
          }
        }
        // php-fpm 8.2 compares the decoded PATH_INFO with SCRIPT_NAME above but keeps it
        // encoded, as SCRIPT_FILENAME has it (PHP 8.3 decodes it: GH-17643).
        path_info = new_pi;
        env.set("PATH_INFO", *path_info);
      }
      if (!orig_sf || *orig_sf != pt) {
        if (orig_sf) env.set("ORIG_SCRIPT_FILENAME", *orig_sf);
        env.set("SCRIPT_FILENAME", pt);
      }
      script = pt;
      // PATH_TRANSLATED = DOCUMENT_ROOT + PATH_INFO (or SCRIPT_FILENAME - SCRIPT_NAME + PATH_INFO).
      std::optional<std::string> translated;
      if (docroot) {
        std::string d = *docroot;
        if (!d.empty() && d.back() == '/') d.pop_back();
        translated = d + (path_info ? *path_info : "");
      } else if (script_name && pt.find(*script_name) != std::string::npos) {
        translated = pt.substr(0, pt.size() - script_name->size()) + (path_info ? *path_info : "");
      }
      if (translated) {
        if (orig_pt) env.set("ORIG_PATH_TRANSLATED", *orig_pt);
        env.set("PATH_TRANSLATED", *translated);
      }
      found = true;
      break;
    }
    if (!found) {
      if (orig_sf) env.set("ORIG_SCRIPT_FILENAME", *orig_sf);
      env.unset("SCRIPT_FILENAME");
      script.reset();
    }
    if (!out.script_name) {
      if (!orig_sn || !script_name || *orig_sn != *script_name) {
        if (orig_sn) env.set("ORIG_SCRIPT_NAME", *orig_sn);
        if (script_name)
          env.set("SCRIPT_NAME", *script_name);
        else
          env.unset("SCRIPT_NAME");
        out.script_name = script_name;
      } else {
        out.script_name = orig_sn;
      }
    }
  } else {
    if (!orig_sf || *script != *orig_sf) {
      if (orig_sf) env.set("ORIG_SCRIPT_FILENAME", *orig_sf);
      env.set("SCRIPT_FILENAME", *script);
    }
    if (!apache && redirect_url) {
      if (orig_pi) {
        env.set("ORIG_PATH_INFO", *orig_pi);
        env.unset("PATH_INFO");
      }
      if (orig_pt) {
        env.set("ORIG_PATH_TRANSLATED", *orig_pt);
        env.unset("PATH_TRANSLATED");
      }
    }
    if (script_name != orig_sn) {
      if (orig_sn) env.set("ORIG_SCRIPT_NAME", *orig_sn);
      if (script_name) env.set("SCRIPT_NAME", *script_name);
      out.script_name = script_name;
    } else {
      out.script_name = orig_sn;
    }
  }

  if (script && is_valid_path(*script)) out.path_translated = script;
  return out;
}

}  // namespace php_pool::sapi
