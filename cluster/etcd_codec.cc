#include "cluster/etcd_codec.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>

#include "cluster/json.h"
#include "common/base64.h"
#include "common/json_writer.h"

namespace sluice::cluster {
namespace {

namespace dom = simdjson::dom;
using detail::parse_object;

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "etcd"; }
  std::string message(int ev) const override {
    switch (static_cast<EtcdErrc>(ev)) {
      case EtcdErrc::unreachable:
        return "etcd unreachable";
      case EtcdErrc::bad_answer:
        return "malformed answer from etcd";
      case EtcdErrc::lease_not_found:
        return "etcd lease not found";
      case EtcdErrc::invalid_request:
        return "etcd refused the request";
      case EtcdErrc::permission_denied:
        return "etcd permission denied";
      case EtcdErrc::unavailable:
        return "etcd unavailable";
      case EtcdErrc::watch_canceled:
        return "etcd watch canceled";
    }
    return "unknown etcd error";
  }
};

const std::error_code kBad = make_error_code(EtcdErrc::bad_answer);

void key(JsonWriter& w, std::string_view name, std::string_view raw) {
  w.key(name).value(base64_encode(raw));
}

// int64 fields: a JSON string of digits as the gateway sends them (a number is accepted too);
// absent is zero.
bool int64_field(dom::object o, std::string_view name, int64_t& out) {
  dom::element e;
  if (o.at_key(name).get(e)) {
    out = 0;
    return true;
  }
  if (e.is_int64()) return !e.get_int64().get(out);
  if (e.is_uint64()) {
    uint64_t u = 0;
    if (e.get_uint64().get(u)) return false;
    out = static_cast<int64_t>(u);
    return true;
  }
  std::string_view s;
  if (e.get_string().get(s) || s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Cluster and member ids are uint64 (as strings).
bool uint64_field(dom::object o, std::string_view name, uint64_t& out) {
  dom::element e;
  if (o.at_key(name).get(e)) {
    out = 0;
    return true;
  }
  if (e.is_uint64()) return !e.get_uint64().get(out);
  std::string_view s;
  if (e.get_string().get(s) || s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

bool bool_field(dom::object o, std::string_view name, bool& out) {
  dom::element e;
  if (o.at_key(name).get(e)) {
    out = false;
    return true;
  }
  return !e.get_bool().get(out);
}

bool bytes_field(dom::object o, std::string_view name, std::string& out) {
  dom::element e;
  if (o.at_key(name).get(e)) {
    out.clear();
    return true;
  }
  std::string_view s;
  if (e.get_string().get(s)) return false;
  return base64_decode(s, out).has_value();
}

bool parse_header(dom::object o, EtcdHeader& h) {
  dom::object header;
  if (o.at_key("header").get(header)) return true;  // an empty header is left out too
  return uint64_field(header, "cluster_id", h.cluster_id) &&
         uint64_field(header, "member_id", h.member_id) &&
         int64_field(header, "revision", h.revision) &&
         int64_field(header, "raft_term", h.raft_term);
}

bool parse_kv(dom::object o, KeyValue& kv) {
  return bytes_field(o, "key", kv.key) && bytes_field(o, "value", kv.value) &&
         int64_field(o, "create_revision", kv.create_revision) &&
         int64_field(o, "mod_revision", kv.mod_revision) && int64_field(o, "version", kv.version) &&
         int64_field(o, "lease", kv.lease);
}

bool parse_range_object(dom::object o, RangeAnswer& r) {
  if (!parse_header(o, r.header) || !int64_field(o, "count", r.count)) return false;
  dom::element kvs;
  if (o.at_key("kvs").get(kvs)) return true;
  dom::array array;
  if (kvs.get_array().get(array)) return false;
  for (dom::element e : array) {
    dom::object kv_object;
    if (e.get_object().get(kv_object)) return false;
    KeyValue kv;
    if (!parse_kv(kv_object, kv)) return false;
    r.kvs.push_back(std::move(kv));
  }
  return true;
}

const char* target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::create:
      return "CREATE";
    case Compare::Target::mod:
      return "MOD";
    case Compare::Target::version:
      return "VERSION";
    case Compare::Target::value:
      return "VALUE";
  }
  return "CREATE";
}

const char* op_name(Compare::Op op) {
  switch (op) {
    case Compare::Op::equal:
      return "EQUAL";
    case Compare::Op::greater:
      return "GREATER";
    case Compare::Op::less:
      return "LESS";
    case Compare::Op::not_equal:
      return "NOT_EQUAL";
  }
  return "EQUAL";
}

void write_op(JsonWriter& w, const TxnOp& op) {
  w.begin_object();
  switch (op.kind) {
    case TxnOp::Kind::range:
      w.key("request_range").begin_object();
      key(w, "key", op.key);
      if (!op.range_end.empty()) key(w, "range_end", op.range_end);
      w.end_object();
      break;
    case TxnOp::Kind::put:
      w.key("request_put").begin_object();
      key(w, "key", op.key);
      key(w, "value", op.value);
      if (op.lease != 0) w.key("lease").value(std::to_string(op.lease));
      w.end_object();
      break;
    case TxnOp::Kind::del:
      w.key("request_delete_range").begin_object();
      key(w, "key", op.key);
      if (!op.range_end.empty()) key(w, "range_end", op.range_end);
      w.end_object();
      break;
  }
  w.end_object();
}

}  // namespace

Result<dom::object> detail::parse_object(std::string_view json) {
  thread_local dom::parser parser;
  dom::element root;
  if (parser.parse(json.data(), json.size(), true).get(root)) return kBad;
  dom::object o;
  if (root.get_object().get(o)) return kBad;
  return o;
}

const std::error_category& etcd_category() noexcept {
  static const Category category;
  return category;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key (etcd's "from key" range end)
}

std::string range_request(std::string_view k, std::string_view range_end, int64_t revision) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  key(w, "key", k);
  if (!range_end.empty()) key(w, "range_end", range_end);
  if (revision != 0) w.key("revision").value(std::to_string(revision));
  w.end_object();
  return out;
}

std::string put_request(std::string_view k, std::string_view value, int64_t lease) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  key(w, "key", k);
  key(w, "value", value);
  if (lease != 0) w.key("lease").value(std::to_string(lease));
  w.end_object();
  return out;
}

std::string delete_request(std::string_view k, std::string_view range_end) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  key(w, "key", k);
  if (!range_end.empty()) key(w, "range_end", range_end);
  w.end_object();
  return out;
}

std::string txn_request(const Txn& txn) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("compare").begin_array();
  for (const auto& c : txn.compare) {
    w.begin_object();
    key(w, "key", c.key);
    w.key("target").value(target_name(c.target));
    w.key("result").value(op_name(c.op));
    switch (c.target) {
      case Compare::Target::create:
        w.key("create_revision").value(std::to_string(c.number));
        break;
      case Compare::Target::mod:
        w.key("mod_revision").value(std::to_string(c.number));
        break;
      case Compare::Target::version:
        w.key("version").value(std::to_string(c.number));
        break;
      case Compare::Target::value:
        key(w, "value", c.value);
        break;
    }
    w.end_object();
  }
  w.end_array().key("success").begin_array();
  for (const auto& op : txn.success) write_op(w, op);
  w.end_array().key("failure").begin_array();
  for (const auto& op : txn.failure) write_op(w, op);
  w.end_array().end_object();
  return out;
}

std::string lease_grant_request(int64_t ttl_s) { return fmt::format(R"({{"TTL":"{}"}})", ttl_s); }

std::string lease_id_request(int64_t id) { return fmt::format(R"({{"ID":"{}"}})", id); }

std::string watch_request(std::string_view k, std::string_view range_end, int64_t start_revision,
                          bool prev_kv) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("create_request").begin_object();
  key(w, "key", k);
  if (!range_end.empty()) key(w, "range_end", range_end);
  if (start_revision != 0) w.key("start_revision").value(std::to_string(start_revision));
  if (prev_kv) w.key("prev_kv").value(true);
  w.end_object().end_object();
  return out;
}

Result<RangeAnswer> parse_range(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return o.error();
  RangeAnswer r;
  if (!parse_range_object(*o, r)) return kBad;
  return r;
}

Result<EtcdHeader> parse_header_only(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return o.error();
  EtcdHeader h;
  if (!parse_header(*o, h)) return kBad;
  return h;
}

Result<TxnAnswer> parse_txn(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return o.error();
  TxnAnswer t;
  if (!parse_header(*o, t.header) || !bool_field(*o, "succeeded", t.succeeded)) return kBad;
  dom::element responses;
  if (o->at_key("responses").get(responses)) return t;
  dom::array array;
  if (responses.get_array().get(array)) return kBad;
  for (dom::element e : array) {
    dom::object response;
    if (e.get_object().get(response)) return kBad;
    RangeAnswer r;
    dom::object range;
    if (!response.at_key("response_range").get(range) && !parse_range_object(range, r)) {
      return kBad;
    }
    t.responses.push_back(std::move(r));
  }
  return t;
}

Result<LeaseAnswer> parse_lease_grant(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return o.error();
  LeaseAnswer l;
  if (!parse_header(*o, l.header) || !int64_field(*o, "ID", l.id) ||
      !int64_field(*o, "TTL", l.ttl_s)) {
    return kBad;
  }
  dom::element error;
  if (!o->at_key("error").get(error)) return make_error_code(EtcdErrc::invalid_request);
  if (l.id == 0 || l.ttl_s <= 0) return kBad;
  return l;
}

Result<LeaseAnswer> parse_lease_keepalive(std::string_view body) {
  auto o = parse_object(body);
  if (!o) return o.error();
  dom::element error;
  if (!o->at_key("error").get(error)) return make_error_code(EtcdErrc::unavailable);
  dom::object result;
  if (o->at_key("result").get(result)) return kBad;
  LeaseAnswer l;
  if (!parse_header(result, l.header) || !int64_field(result, "ID", l.id) ||
      !int64_field(result, "TTL", l.ttl_s) || l.ttl_s < 0) {
    return kBad;
  }
  return l;
}

Result<WatchAnswer> parse_watch_line(std::string_view line) {
  auto o = parse_object(line);
  if (!o) return o.error();
  dom::element error;
  if (!o->at_key("error").get(error)) return make_error_code(EtcdErrc::unavailable);
  dom::object result;
  if (o->at_key("result").get(result)) return kBad;
  WatchAnswer w;
  if (!parse_header(result, w.header) || !int64_field(result, "watch_id", w.watch_id) ||
      !bool_field(result, "created", w.created) || !bool_field(result, "canceled", w.canceled) ||
      !int64_field(result, "compact_revision", w.compact_revision)) {
    return kBad;
  }
  dom::element reason;
  if (!result.at_key("cancel_reason").get(reason)) {
    std::string_view s;
    if (reason.get_string().get(s)) return kBad;
    w.cancel_reason = std::string(s);
  }
  dom::element events;
  if (result.at_key("events").get(events)) return w;
  dom::array array;
  if (events.get_array().get(array)) return kBad;
  for (dom::element e : array) {
    dom::object event;
    if (e.get_object().get(event)) return kBad;
    WatchEvent ev;
    dom::element type;
    if (!event.at_key("type").get(type)) {
      std::string_view t;
      if (type.get_string().get(t)) return kBad;
      if (t == "DELETE") {
        ev.type = WatchEvent::Type::del;
      } else if (t != "PUT") {
        return kBad;
      }
    }
    dom::object kv;
    if (event.at_key("kv").get(kv) || !parse_kv(kv, ev.kv)) return kBad;
    dom::object prev;
    if (!event.at_key("prev_kv").get(prev)) {
      KeyValue p;
      if (!parse_kv(prev, p)) return kBad;
      ev.prev_kv = std::move(p);
    }
    w.events.push_back(std::move(ev));
  }
  return w;
}

std::error_code parse_error(int status, std::string_view body, std::string& message) {
  int64_t code = 0;
  message.clear();
  if (auto o = parse_object(body)) {
    int64_field(*o, "code", code);
    std::string_view text;
    dom::element e;
    if (!o->at_key("message").get(e) && !e.get_string().get(text)) message = std::string(text);
  }
  if (message.empty()) message = fmt::format("HTTP {}", status);
  switch (code) {
    case 5:
      return make_error_code(EtcdErrc::lease_not_found);
    case 7:
      return make_error_code(EtcdErrc::permission_denied);
    case 14:
      return make_error_code(EtcdErrc::unavailable);
    default:
      break;
  }
  if (status == 404) return make_error_code(EtcdErrc::lease_not_found);
  if (status >= 500) return make_error_code(EtcdErrc::unavailable);
  return make_error_code(EtcdErrc::invalid_request);
}

}  // namespace sluice::cluster
