// Package pickle reads and writes the few Python pickles that a Go service
// exchanges with Django through a shared cache, and nothing else.
//
// # Why it exists
//
// Django pickles cache values (pickle.HIGHEST_PROTOCOL, which is protocol 5
// on Python 3.8 and later). Its {% cache %} tag stores the rendered fragment
// as a django.utils.safestring.SafeString, which pymemcache sends with flag 1
// and Django's RedisSerializer stores as the raw pickle; the file-based
// backend writes a pickled expiry before the zlib-compressed pickled value.
// To share fragments with Django, a Go process must write exactly the bytes
// Django writes (EncodeSafeString, EncodeString, EncodeBytes, Encode) and
// read back what Django wrote (Decode, DecodeText, DecodePrefix).
//
// # Nothing in a stream is ever executed
//
// A general unpickler imports modules and calls whatever a stream names,
// which makes a writable cache a remote-code-execution sink. This package is
// not a general unpickler: it is a small stack machine that understands a
// fixed set of opcodes and builds Go values itself. It never imports, looks
// up, calls or constructs anything a stream names. A global reference is
// compared, as two strings, with the allow-list below; any other name is
// rejected on the spot with ErrUnsupported, before anything else is read.
//
// # What Decode accepts
//
// Values (protocols 2 to 5; streams of protocols 0 and 1 that use only the
// binary opcodes below are accepted too, as Python accepts them):
//
//	None                     NONE
//	bool                     NEWTRUE, NEWFALSE
//	int (any size)           BININT1, BININT2, BININT, LONG1, LONG4
//	float                    BINFLOAT
//	str                      SHORT_BINUNICODE, BINUNICODE, BINUNICODE8, and
//	                         SHORT_BINSTRING, BINSTRING (Python 2 str, ASCII only)
//	bytes                    SHORT_BINBYTES, BINBYTES, BINBYTES8
//	bytearray                BYTEARRAY8
//	list of the above        EMPTY_LIST, APPEND, APPENDS, LIST
//	tuple of the above       EMPTY_TUPLE, TUPLE1, TUPLE2, TUPLE3, TUPLE
//
// Lists and tuples hold plain values only (never a list or tuple): Django
// stores its page cache's learned header lists as lists of str, which
// Value.StrList reads. Structure: PROTO, FRAME, STOP, MARK, and the memo:
// MEMOIZE, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET.
//
// The allow-listed globals (GLOBAL or STACK_GLOBAL), each applied with REDUCE
// (or NEWOBJ, for the SafeString classes only) to exactly the arguments
// Python's own pickler writes:
//
//	django.utils.safestring.SafeString(str)   a safe str (Value.Safe)
//	django.utils.safestring.SafeText(str)     the same (its name before Django 4.0)
//	_codecs.encode(str, "latin1")             bytes, as protocol 2 writes them
//	builtins.bytes()                          b"", as protocol 2 writes it
//	builtins.bytearray() / bytearray(bytes)   bytearray, protocols 2 to 4
//
// (__builtin__.bytes and __builtin__.bytearray, the Python 2 names protocol
// 2 uses, are the same.) The argument of a SafeString must be a plain str.
//
// Everything else is an error wrapping ErrUnsupported that names the opcode
// or the global: any other global (os.system, builtins.eval, …), BUILD (state
// set on an object), INST, OBJ, NEWOBJ_EX, EXT1/2/4, PERSID, BINPERSID,
// out-of-band buffers, dicts and sets, a list or tuple inside a list or
// tuple, the text opcodes of protocol 0, a SafeString with other arguments,
// and a stream whose result is a bare class. Input that Python itself could not load (truncated data, a
// stack underflow, a missing memo entry, invalid UTF-8, an unknown opcode,
// bytes after STOP) is an error wrapping ErrMalformed.
//
// Decode is stricter than pickle.loads in two harmless ways: the stream must
// leave exactly one value and no open MARK at STOP, and Decode (unlike
// DecodePrefix) rejects bytes after STOP. Work and memory are bounded on
// hostile input: every length is checked against the bytes that remain, and
// the stack, the memo and the number of values built are capped far above
// anything Python writes for the accepted shapes.
//
// # Strings
//
// Python encodes str as UTF-8 with the "surrogatepass" error handler. A Go
// string that is not valid UTF-8 is written as Python's "surrogateescape"
// decoding of its bytes would be (each invalid byte b becomes the lone
// surrogate U+DC00+b), the convention package pystr uses for cache keys, so
// Decode(EncodeString(s)) gives s back for every Go string. Django cannot
// encode such a string to UTF-8 for a response, so callers that hand
// fragments to Django should write valid UTF-8. Decoding maps the lone
// surrogates U+DC80 to U+DCFF back to single bytes and any other surrogate
// to U+FFFD.
package pickle
