#include "io/pickle_reader.h"

#include "common/error.h"

#include <ATen/ATen.h>

#include <cstring>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace tyq {
namespace {

constexpr int kMaxDepth = 200;
constexpr int64_t kMaxTensorDims = 32;
constexpr uint64_t kMaxRebuildFactor = 8;
constexpr uint64_t kRebuildAllowance = uint64_t(16) << 20;

PickleRef make(PickleValue::Kind kind)
{
    auto v = std::make_shared<PickleValue>();
    v->kind = kind;
    return v;
}

class Machine {
public:
    Machine(std::string_view data, const std::function<at::Tensor(const StorageRef&)>& loadStorage,
            const std::string& source)
        : data_(data), loadStorage_(loadStorage), source_(source)
    {
    }

    PickleRef run();

private:
    [[noreturn]] void error(const std::string& problem) const
    {
        throw Error(source_ + ": bad pickle at byte " + std::to_string(pos_) + ": " + problem);
    }

    const char* take(size_t n)
    {
        if (n > data_.size() - pos_)
            error("unexpected end of data");
        const char* p = data_.data() + pos_;
        pos_ += n;
        return p;
    }
    uint64_t le(size_t n)
    {
        const char* p = take(n);
        uint64_t v = 0;
        for (size_t i = n; i-- > 0;)
            v = (v << 8) | static_cast<unsigned char>(p[i]);
        return v;
    }
    std::string line()
    {
        const size_t end = data_.find('\n', pos_);
        if (end == std::string_view::npos)
            error("unterminated text argument");
        std::string s(data_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return s;
    }

    PickleRef pop()
    {
        if (stack_.size() <= markFloor())
            error("stack underflow");
        PickleRef v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    PickleRef& top()
    {
        if (stack_.size() <= markFloor())
            error("stack underflow");
        return stack_.back();
    }
    size_t markFloor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::vector<PickleRef> popToMark()
    {
        if (marks_.empty())
            error("no MARK on the stack");
        const size_t mark = marks_.back();
        marks_.pop_back();
        std::vector<PickleRef> items(std::make_move_iterator(stack_.begin() + static_cast<long>(mark)),
                                     std::make_move_iterator(stack_.end()));
        stack_.resize(mark);
        return items;
    }
    void push(PickleRef v) { stack_.push_back(std::move(v)); }

    void adopt(PickleValue& parent, const PickleRef& child)
    {
        if (child.get() == &parent)
            error("a container contains itself");
        parent.depth = std::max(parent.depth, child->depth + 1);
        if (parent.depth > kMaxDepth)
            error("nesting deeper than " + std::to_string(kMaxDepth));
        adopted_.insert(child);
    }

    // Writers finish a container before placing it in another; filling one afterwards (through
    // the memo) is how recursive structures are made, and would let a chain grow deeper than
    // the depths recorded at adoption (freeing it would then overflow the stack).
    void requireUnadopted(const PickleRef& container)
    {
        if (adopted_.count(container))
            error("a container is changed after being placed inside another (recursive structures are not supported)");
    }

    PickleRef tuple(std::vector<PickleRef> items)
    {
        PickleRef t = make(PickleValue::Kind::tuple);
        for (const PickleRef& item : items)
            adopt(*t, item);
        t->items = std::move(items);
        return t;
    }

    void appendTo(const PickleRef& list, std::vector<PickleRef> items)
    {
        if (list->kind != PickleValue::Kind::list)
            error(std::string("APPEND to a ") + list->kindName());
        requireUnadopted(list);
        for (PickleRef& item : items) {
            adopt(*list, item);
            list->items.push_back(std::move(item));
        }
    }

    void setItems(const PickleRef& dict, std::vector<PickleRef> items)
    {
        if (dict->kind != PickleValue::Kind::dict)
            error(std::string("SETITEM on a ") + dict->kindName());
        if (items.size() % 2 != 0)
            error("odd number of dict items");
        requireUnadopted(dict);
        for (size_t i = 0; i < items.size(); i += 2) {
            adopt(*dict, items[i]);
            adopt(*dict, items[i + 1]);
            // A repeated key replaces the value, as in Python. Indexed: a linear search per key
            // would let a dict of many keys take quadratic time.
            if (items[i]->isString()) {
                auto& index = stringKeys_[dict];
                const auto [it, inserted] = index.emplace(items[i]->text, dict->entries.size());
                if (!inserted) {
                    dict->entries[it->second].second = items[i + 1];
                    continue;
                }
            }
            dict->entries.emplace_back(items[i], items[i + 1]);
        }
    }

    PickleRef global(std::string module, std::string name)
    {
        PickleRef g = make(PickleValue::Kind::global);
        g->text = module + "." + name;
        return g;
    }

    int64_t intArg(const PickleValue& v, const char* what)
    {
        if (v.kind != PickleValue::Kind::integer)
            error(std::string(what) + " must be an integer");
        return v.integer;
    }

    std::vector<int64_t> intTuple(const PickleValue& v, const char* what)
    {
        if (v.kind != PickleValue::Kind::tuple && v.kind != PickleValue::Kind::list)
            error(std::string(what) + " must be a tuple of integers");
        if (static_cast<int64_t>(v.items.size()) > kMaxTensorDims)
            error(std::string(what) + " has too many dimensions");
        std::vector<int64_t> out;
        for (const PickleRef& item : v.items)
            out.push_back(intArg(*item, what));
        return out;
    }

    PickleRef persistentLoad(const PickleRef& pid);
    PickleRef rebuildTensor(const std::vector<PickleRef>& args);
    PickleRef reduce(const PickleRef& callable, const PickleRef& args);

    std::string_view data_;
    size_t pos_ = 0;
    const std::function<at::Tensor(const StorageRef&)>& loadStorage_;
    const std::string& source_;
    std::vector<PickleRef> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, PickleRef> memo_;
    std::unordered_set<PickleRef> adopted_; // values placed inside a container (kept alive: no address reuse)
    std::map<std::string, at::Tensor> storages_;
    // dict -> its string keys -> entry index (holding the dict: no address reuse)
    std::unordered_map<PickleRef, std::unordered_map<std::string, size_t>> stringKeys_;
    uint64_t storageBytes_ = 0; // bytes of the storages loaded
    uint64_t rebuiltBytes_ = 0; // bytes of the tensors rebuilt from them
};

at::ScalarType storageDtype(const std::string& typeName, bool& known)
{
    static const std::map<std::string, at::ScalarType> types = {
        {"FloatStorage", at::kFloat},   {"DoubleStorage", at::kDouble}, {"HalfStorage", at::kHalf},
        {"BFloat16Storage", at::kBFloat16}, {"LongStorage", at::kLong},  {"IntStorage", at::kInt},
        {"ShortStorage", at::kShort},   {"CharStorage", at::kChar},     {"ByteStorage", at::kByte},
        {"BoolStorage", at::kBool},
    };
    auto it = types.find(typeName);
    known = it != types.end();
    return known ? it->second : at::kFloat;
}

PickleRef Machine::persistentLoad(const PickleRef& pid)
{
    if (pid->kind != PickleValue::Kind::tuple || pid->items.size() < 5 || !pid->items[0]->isString() ||
        pid->items[0]->text != "storage")
        error("unsupported persistent id (expected a ('storage', type, key, location, size) tuple)");
    const PickleValue& type = *pid->items[1];
    const PickleValue& key = *pid->items[2];
    if (type.kind != PickleValue::Kind::global || !key.isString())
        error("malformed storage reference");
    StorageRef ref;
    ref.typeName = type.text.substr(type.text.rfind('.') + 1);
    ref.key = key.text;
    ref.numel = intArg(*pid->items[4], "storage size");
    if (ref.numel < 0)
        error("negative storage size");
    bool known = false;
    storageDtype(ref.typeName, known);
    if (!known)
        error("unsupported storage type '" + type.text + "'");
    auto it = storages_.find(ref.key);
    if (it == storages_.end()) {
        at::Tensor storage = loadStorage_(ref);
        storageBytes_ += static_cast<uint64_t>(storage.numel()) * storage.element_size();
        it = storages_.emplace(ref.key, storage).first;
    }
    PickleRef v = make(PickleValue::Kind::tensor);
    v->tensor = it->second;
    v->text = "storage";
    return v;
}

PickleRef Machine::rebuildTensor(const std::vector<PickleRef>& args)
{
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.size() < 4 || args[0]->kind != PickleValue::Kind::tensor)
        error("malformed tensor record");
    const at::Tensor& storage = args[0]->tensor;
    const int64_t offset = intArg(*args[1], "storage offset");
    const std::vector<int64_t> size = intTuple(*args[2], "tensor size");
    const std::vector<int64_t> stride = intTuple(*args[3], "tensor stride");
    if (size.size() != stride.size())
        error("tensor size and stride have different lengths");
    // The view must lie inside the storage: offset + sum((size_i - 1) * stride_i) < numel,
    // computed without overflow (sizes and strides up to 2^40 make products up to 2^80).
    bool empty = false;
    for (size_t d = 0; d < size.size(); ++d) {
        if (size[d] < 0 || stride[d] < 0 || size[d] > (int64_t(1) << 40) || stride[d] > (int64_t(1) << 40))
            error("tensor size or stride out of range");
        empty = empty || size[d] == 0;
    }
    if (offset < 0)
        error("tensor view extends past its storage");
    if (!empty) {
        int64_t extent = offset;
        int64_t elements = 1;
        for (size_t d = 0; d < size.size(); ++d) {
            int64_t span = 0;
            if (__builtin_mul_overflow(size[d] - 1, stride[d], &span) || __builtin_add_overflow(extent, span, &extent) ||
                extent >= storage.numel())
                error("tensor view extends past its storage");
            if (__builtin_mul_overflow(elements, size[d], &elements) || elements > storage.numel())
                // Only an expanded (stride 0) view can be larger than its storage; copying one
                // would let a tiny file demand any amount of memory.
                error("tensor view has more elements than its storage (expanded tensors are not supported)");
        }
        if (extent >= storage.numel()) // a scalar (no dimensions) at its offset, too
            error("tensor view extends past its storage");
    }
    // Each tensor is a copy of its view, so a small file that rebuilds one large storage many
    // times would demand memory without bound; real checkpoints view each storage about once.
    if (!empty) {
        int64_t elements = 1;
        for (int64_t d : size)
            elements *= d;
        rebuiltBytes_ += static_cast<uint64_t>(elements) * storage.element_size();
        if (rebuiltBytes_ > kMaxRebuildFactor * storageBytes_ + kRebuildAllowance)
            error("its tensors add up to more than " + std::to_string(kMaxRebuildFactor) +
                  " times the data stored in the archive (the same storage rebuilt over and over)");
    }
    PickleRef v = make(PickleValue::Kind::tensor);
    try {
        v->tensor = empty ? at::empty(size, storage.options()) : storage.as_strided(size, stride, offset).clone();
    } catch (const c10::Error& e) {
        error(std::string("malformed tensor record: ") + e.what_without_backtrace());
    }
    return v;
}

PickleRef Machine::reduce(const PickleRef& callable, const PickleRef& args)
{
    if (callable->kind != PickleValue::Kind::global)
        error(std::string("REDUCE on a ") + callable->kindName());
    if (args->kind != PickleValue::Kind::tuple)
        error("REDUCE arguments are not a tuple");
    const std::string& name = callable->text;
    const auto& a = args->items;
    if (name == "collections.OrderedDict" || name == "builtins.dict") {
        if (!a.empty())
            error("OrderedDict with initial items is not supported");
        return make(PickleValue::Kind::dict);
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
        return rebuildTensor(a);
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
        if (a.empty() || a[0]->kind != PickleValue::Kind::tensor)
            error("malformed parameter record");
        return a[0];
    }
    if (name == "torch.jit._pickle.restore_type_tag") {
        if (a.empty())
            error("restore_type_tag without a value");
        return a[0];
    }
    if (name.rfind("torch.jit._pickle.build_", 0) == 0) {
        if (a.size() != 1)
            error(name + " expects one list");
        return a[0];
    }
    // Anything else is kept as an opaque object: it is never executed.
    PickleRef obj = make(PickleValue::Kind::object);
    obj->text = name;
    for (const PickleRef& item : a)
        adopt(*obj, item);
    obj->items = a;
    return obj;
}

PickleRef Machine::run()
{
    while (true) {
        const unsigned char op = static_cast<unsigned char>(*take(1));
        switch (op) {
        case 0x80: // PROTO
            if (static_cast<unsigned char>(*take(1)) > 5)
                error("pickle protocol newer than 5");
            break;
        case 0x95: // FRAME
            take(8);
            break;
        case '.': // STOP
            if (stack_.size() != 1 || !marks_.empty())
                error("the pickle does not end with exactly one value");
            return stack_.back();
        case '(': marks_.push_back(stack_.size()); break;
        case ')': push(tuple({})); break;
        case 't': push(tuple(popToMark())); break;
        case 0x85: { auto a = pop(); push(tuple({a})); break; }
        case 0x86: { auto b = pop(); auto a = pop(); push(tuple({a, b})); break; }
        case 0x87: { auto c = pop(); auto b = pop(); auto a = pop(); push(tuple({a, b, c})); break; }
        case ']': push(make(PickleValue::Kind::list)); break;
        case 'l': { auto items = popToMark(); auto l = make(PickleValue::Kind::list); appendTo(l, std::move(items)); push(l); break; }
        case 'a': { auto v = pop(); appendTo(top(), {v}); break; }
        case 'e': { auto items = popToMark(); appendTo(top(), std::move(items)); break; }
        case '}': push(make(PickleValue::Kind::dict)); break;
        case 'd': { auto items = popToMark(); auto d = make(PickleValue::Kind::dict); setItems(d, std::move(items)); push(d); break; }
        case 's': { auto v = pop(); auto k = pop(); setItems(top(), {k, v}); break; }
        case 'u': { auto items = popToMark(); setItems(top(), std::move(items)); break; }
        case 'N': push(make(PickleValue::Kind::none)); break;
        case 0x88: case 0x89: { auto b = make(PickleValue::Kind::boolean); b->boolean = op == 0x88; push(b); break; }
        case 'J': { auto i = make(PickleValue::Kind::integer); i->integer = static_cast<int32_t>(le(4)); push(i); break; }
        case 'K': { auto i = make(PickleValue::Kind::integer); i->integer = static_cast<int64_t>(le(1)); push(i); break; }
        case 'M': { auto i = make(PickleValue::Kind::integer); i->integer = static_cast<int64_t>(le(2)); push(i); break; }
        case 0x8a: { // LONG1
            const size_t n = static_cast<size_t>(le(1));
            if (n > 8)
                error("integer wider than 64 bits");
            uint64_t v = n > 0 ? le(n) : 0;
            if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1)
                v |= ~uint64_t(0) << (8 * n); // sign-extend
            auto i = make(PickleValue::Kind::integer);
            i->integer = static_cast<int64_t>(v);
            push(i);
            break;
        }
        case 'G': { // BINFLOAT, big-endian
            const char* p = take(8);
            uint64_t bits = 0;
            for (int k = 0; k < 8; ++k)
                bits = (bits << 8) | static_cast<unsigned char>(p[k]);
            auto d = make(PickleValue::Kind::real);
            std::memcpy(&d->real, &bits, 8);
            push(d);
            break;
        }
        case 'X': case 0x8c: case 0x8d: case 'T': case 'U': case 'B': case 'C': case 0x8e: {
            const size_t width = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
            const uint64_t n = le(width);
            if (n > data_.size() - pos_)
                error("string longer than the remaining data");
            const bool isBytes = op == 'B' || op == 'C' || op == 0x8e;
            auto s = make(isBytes ? PickleValue::Kind::bytes : PickleValue::Kind::string);
            s->text.assign(take(static_cast<size_t>(n)), static_cast<size_t>(n));
            push(s);
            break;
        }
        case 'c': { auto module = line(); auto name = line(); push(global(module, name)); break; }
        case 0x93: { // STACK_GLOBAL
            auto name = pop();
            auto module = pop();
            if (!name->isString() || !module->isString())
                error("STACK_GLOBAL needs two strings");
            push(global(module->text, name->text));
            break;
        }
        case 'R': case 0x81: { auto args = pop(); auto callable = pop(); push(reduce(callable, args)); break; }
        case 'b': pop(); break; // BUILD: object state (e.g. an OrderedDict's _metadata) is not needed
        case 'q': memo_[le(1)] = top(); break;
        case 'r': memo_[le(4)] = top(); break;
        case 0x94: memo_[memo_.size()] = top(); break; // MEMOIZE
        case 'h': case 'j': {
            const uint64_t key = le(op == 'h' ? 1 : 4);
            auto it = memo_.find(key);
            if (it == memo_.end())
                error("reference to an unknown memo entry " + std::to_string(key));
            push(it->second);
            break;
        }
        case 'Q': { auto pid = pop(); push(persistentLoad(pid)); break; }
        case '0': pop(); break;
        case '1': popToMark(); break;
        case '2': push(top()); break;
        default: {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", op);
            error(std::string("unsupported opcode ") + hex);
        }
        }
    }
}

} // namespace

const PickleValue* PickleValue::get(const std::string& key) const
{
    if (kind != Kind::dict)
        return nullptr;
    for (const auto& [k, v] : entries)
        if (k->isString() && k->text == key)
            return v.get();
    return nullptr;
}

const char* PickleValue::kindName() const
{
    switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "global";
    case Kind::tensor: return "tensor";
    case Kind::object: return "object";
    }
    return "?";
}

PickleRef readPickle(std::string_view pickle, const std::function<at::Tensor(const StorageRef&)>& loadStorage,
                     const std::string& source)
{
    Machine machine(pickle, loadStorage, source);
    return machine.run();
}

at::ScalarType storageScalarType(const std::string& typeName)
{
    bool known = false;
    return storageDtype(typeName, known);
}

} // namespace tyq
