/*
 * The compiled forwarding core: vidzzle_media.sfu.leg in C.
 *
 * One call per incoming RTP packet (fanout) does, for every receiving leg,
 * what leg.Leg.forward does in Python: key-frame gating, the new 12-byte
 * header, the remapped one-byte extension block, the NACK history (a
 * preallocated ring holding a reference to the incoming packet), SRTP
 * protect with libsrtp (the srtp_protect of pylibsrtp's own binding, called
 * through its address: no second libsrtp, no crypto here), and the sends,
 * batched per socket with sendmmsg while the GIL is released.
 *
 * The rules must stay identical to leg.py: tests/sfu/test_core_differential.py
 * feeds both the same packets and compares the datagrams byte for byte.
 * The receive side is here too: Receiver (an ICE socket's datagram_received:
 * address check, RTP/RTCP demultiplexing, SRTP unprotect with libsrtp's
 * srtp_unprotect), View (rtp.RtpView: the parsed packet), Demux and Intake
 * (intake.py: the track by payload type, RTX unwrapping, upstream loss
 * tracking and NACK timing, the receiver-report counters, payload checks,
 * key-frame detection), each the twin of its Python reference, tested the
 * same way. So an authentic packet runs no Python code from the socket to
 * the sends; Python is called only for events (a new source, NACKs due, a
 * malformed payload, a leg's verdict).
 * Everything that is not per packet stays in Python: the send path's
 * target (SendPath.target, asked again when the DTLS state, the nominated
 * pair or the SRTP session changes), the transport's queue when the socket
 * is busy (SendPath.send_datagram) and the verdicts (the Consumer's).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define HISTORY_SIZE 512        /* leg.HISTORY_SIZE; video legs only */
#define HISTORY_MASK (HISTORY_SIZE - 1)
#define EXT_INLINE 40
#define MAX_PLAIN 1356          /* aiortc_glue.MAX_PLAIN_RTP */
#define BUF_SIZE 2048           /* MAX_PLAIN + libsrtp's trailer, with room */
#define BATCH 64
#define VERDICT_WAITING 1
#define VERDICT_CONGESTED 2

#define STATE_DETACHED 0
#define STATE_DOWN 1
#define STATE_UP 2

typedef int (*protect_fn)(void *ctx, void *rtp, int *len);
static protect_fn srtp_protect_fn = NULL;
static protect_fn srtp_unprotect_fn = NULL;

static PyObject *str_target, *str_send_datagram, *str_congested, *str_state, *str_tx_srtp;
static PyObject *str_data, *str_seq, *str_timestamp, *str_ssrc, *str_marker;
static PyObject *str_payload_start, *str_payload_end, *str_keyframe_start;
static PyObject *int_one, *randint;
static PyObject *str_rx_srtp, *str_unauthenticated;
static PyObject *str_owner, *str_on_verdict, *str_on_new_source, *str_on_nack, *str_on_malformed, *str_malformed_rtp;

typedef struct {
    PyObject *data;             /* the incoming packet (bytes); NULL: empty slot */
    PyObject *ext_obj;          /* the extension block when longer than EXT_INLINE */
    uint32_t ts;
    uint16_t seq, pstart, pend;
    uint8_t marker, ext_len;
    uint8_t ext[EXT_INLINE];
} Slot;

typedef struct {
    PyObject_HEAD
    PyObject *owner;
    PyObject *path;
    int video;
    unsigned int ts_step;
    int pt;
    unsigned int ssrc;
    int seq_offset;
    unsigned int ts_offset;
    int has_src;
    long long src_ssrc;
    int has_max;
    int max_seq;
    unsigned int last_ts;
    char waiting_keyframe;
    unsigned long long packets_sent, octets_sent;
    uint8_t ext_map[16];
    int ext_any;
    Slot *history;
    /* the send target (SendPath.target) */
    int state;
    int maybe_congested;
    PyObject *dtls, *connected, *nominated, *pair, *session, *backlog;
    void *srtp;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int pending;                /* a datagram of this leg waits in the batch */
    unsigned char buf[BUF_SIZE];
} Leg;

static PyTypeObject LegType;

/* --- target ------------------------------------------------------------- */

static void clear_target(Leg *self) {
    Py_CLEAR(self->dtls);
    Py_CLEAR(self->connected);
    Py_CLEAR(self->nominated);
    Py_CLEAR(self->pair);
    Py_CLEAR(self->session);
    Py_CLEAR(self->backlog);
    self->srtp = NULL;
    self->fd = -1;
    self->addrlen = 0;
}

static int set_address(Leg *self, long family, PyObject *host, long port) {
    const char *text = PyUnicode_AsUTF8(host);
    if (text == NULL)
        return -1;
    memset(&self->addr, 0, sizeof(self->addr));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&self->addr;
        if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
            return 0;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        self->addrlen = sizeof(*sin);
        return 1;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&self->addr;
        if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
            struct in_addr v4;
            if (inet_pton(AF_INET, text, &v4) != 1)
                return 0;       /* e.g. a scoped address: the transport sends it */
            memset(&sin6->sin6_addr, 0, sizeof(sin6->sin6_addr));
            sin6->sin6_addr.s6_addr[10] = 0xff;
            sin6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        self->addrlen = sizeof(*sin6);
        return 1;
    }
    return 0;
}

/* Ask the path for its target again (SendPath.target). */
static int retarget(Leg *self) {
    PyObject *t = PyObject_CallMethodNoArgs(self->path, str_target);
    if (t == NULL)
        return -1;
    if (!PyTuple_Check(t) || (PyTuple_GET_SIZE(t) != 2 && PyTuple_GET_SIZE(t) != 11)) {
        Py_DECREF(t);
        PyErr_SetString(PyExc_TypeError, "SendPath.target() must return a 2- or 11-tuple");
        return -1;
    }
    clear_target(self);
    self->dtls = Py_NewRef(PyTuple_GET_ITEM(t, 0));
    self->connected = Py_NewRef(PyTuple_GET_ITEM(t, 1));
    self->state = STATE_DOWN;
    if (PyTuple_GET_SIZE(t) == 11) {
        void *srtp = PyLong_AsVoidPtr(PyTuple_GET_ITEM(t, 5));
        long fd = PyLong_AsLong(PyTuple_GET_ITEM(t, 6));
        long family = PyLong_AsLong(PyTuple_GET_ITEM(t, 7));
        long port = PyLong_AsLong(PyTuple_GET_ITEM(t, 9));
        if (PyErr_Occurred()) {
            Py_DECREF(t);
            return -1;
        }
        self->nominated = Py_NewRef(PyTuple_GET_ITEM(t, 2));
        self->pair = Py_NewRef(PyTuple_GET_ITEM(t, 3));
        self->session = Py_NewRef(PyTuple_GET_ITEM(t, 4));
        self->srtp = srtp;
        if (PyTuple_GET_ITEM(t, 10) != Py_None)
            self->backlog = Py_NewRef(PyTuple_GET_ITEM(t, 10));
        self->fd = -1;
        if (fd >= 0) {
            int ok = set_address(self, family, PyTuple_GET_ITEM(t, 8), port);
            if (ok < 0) {
                Py_DECREF(t);
                return -1;
            }
            if (ok)
                self->fd = (int)fd;
        }
        if (!PyDict_Check(self->nominated) || srtp == NULL) {
            Py_DECREF(t);
            PyErr_SetString(PyExc_TypeError, "SendPath.target(): bad nominated dict or srtp pointer");
            return -1;
        }
        self->state = STATE_UP;
    }
    Py_DECREF(t);
    return 0;
}

/* 1: the target changed (ask again), 0: unchanged, -1: error. */
static int target_stale(Leg *self) {
    PyObject *st = PyObject_GetAttr(self->dtls, str_state);
    if (st == NULL)
        return -1;
    int connected = st == self->connected;
    Py_DECREF(st);
    if (self->state == STATE_DOWN)
        return connected;
    if (!connected)
        return 1;
    PyObject *pair = PyDict_GetItemWithError(self->nominated, int_one);
    if (pair != self->pair)
        return PyErr_Occurred() ? -1 : 1;
    PyObject *session = PyObject_GetAttr(self->dtls, str_tx_srtp);
    if (session == NULL)
        return -1;
    int stale = session != self->session;
    Py_DECREF(session);
    return stale;
}

/* --- history ------------------------------------------------------------ */

static void clear_history(Leg *self) {
    if (self->history == NULL)
        return;
    for (int i = 0; i < HISTORY_SIZE; i++) {
        Py_CLEAR(self->history[i].data);
        Py_CLEAR(self->history[i].ext_obj);
    }
}

/* --- the Leg type --------------------------------------------------------- */

static int Leg_init(Leg *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"owner", "video", "ts_step", NULL};
    PyObject *owner;
    int video;
    unsigned int ts_step;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OpI", kwlist, &owner, &video, &ts_step))
        return -1;
    Py_XSETREF(self->owner, Py_NewRef(owner));
    self->video = video;
    self->ts_step = ts_step;
    /* the same draws, in the same order, as leg.Leg.__init__ */
    PyObject *seq = PyObject_CallFunction(randint, "ii", 0, 0x7FFF);
    if (seq == NULL)
        return -1;
    self->seq_offset = (int)PyLong_AsLong(seq);
    Py_DECREF(seq);
    PyObject *ts = PyObject_CallFunction(randint, "iK", 0, 0xFFFFFFFFULL);
    if (ts == NULL)
        return -1;
    self->ts_offset = (unsigned int)PyLong_AsUnsignedLong(ts);
    Py_DECREF(ts);
    if (PyErr_Occurred())
        return -1;
    self->waiting_keyframe = video ? 1 : 0;
    self->fd = -1;
    if (self->history == NULL && video) {
        self->history = PyMem_Calloc(HISTORY_SIZE, sizeof(Slot));
        if (self->history == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static int Leg_traverse(Leg *self, visitproc visit, void *arg) {
    Py_VISIT(self->owner);
    Py_VISIT(self->path);
    Py_VISIT(self->dtls);
    Py_VISIT(self->connected);
    Py_VISIT(self->nominated);
    Py_VISIT(self->pair);
    Py_VISIT(self->session);
    Py_VISIT(self->backlog);
    return 0;
}

static int Leg_clear(Leg *self) {
    Py_CLEAR(self->owner);
    Py_CLEAR(self->path);
    clear_target(self);
    clear_history(self);
    self->state = STATE_DETACHED;
    return 0;
}

static void Leg_dealloc(Leg *self) {
    PyObject_GC_UnTrack(self);
    Leg_clear(self);
    PyMem_Free(self->history);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Leg_attach(Leg *self, PyObject *path) {
    Py_XSETREF(self->path, Py_NewRef(path));
    self->maybe_congested = 1;
    if (retarget(self) < 0) {
        Py_CLEAR(self->path);
        clear_target(self);
        self->state = STATE_DETACHED;
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Leg_detach(Leg *self, PyObject *unused) {
    Py_CLEAR(self->path);
    clear_target(self);
    clear_history(self);
    self->state = STATE_DETACHED;
    Py_RETURN_NONE;
}

static Py_ssize_t write_header(unsigned char *out, int ext, int marker, int pt, uint16_t seq,
                               uint32_t ts, uint32_t ssrc) {
    out[0] = ext ? 0x90 : 0x80;
    out[1] = (unsigned char)(((marker & 1) << 7) | (pt & 0x7F));
    out[2] = seq >> 8;
    out[3] = seq & 0xFF;
    out[4] = ts >> 24;
    out[5] = (ts >> 16) & 0xFF;
    out[6] = (ts >> 8) & 0xFF;
    out[7] = ts & 0xFF;
    out[8] = ssrc >> 24;
    out[9] = (ssrc >> 16) & 0xFF;
    out[10] = (ssrc >> 8) & 0xFF;
    out[11] = ssrc & 0xFF;
    return 12;
}

static PyObject *Leg_rebuild(Leg *self, PyObject *arg) {
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    if (self->history == NULL)
        Py_RETURN_NONE;
    Slot *slot = &self->history[seq & HISTORY_MASK];
    if (slot->data == NULL || slot->seq != (uint16_t)seq || seq < 0 || seq > 0xFFFF)
        Py_RETURN_NONE;
    const unsigned char *ext = slot->ext;
    Py_ssize_t ext_len = slot->ext_len;
    if (slot->ext_obj != NULL) {
        ext = (const unsigned char *)PyBytes_AS_STRING(slot->ext_obj);
        ext_len = PyBytes_GET_SIZE(slot->ext_obj);
    }
    Py_ssize_t plen = slot->pend - slot->pstart;
    PyObject *out = PyBytes_FromStringAndSize(NULL, 12 + ext_len + plen);
    if (out == NULL)
        return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    write_header(p, ext_len > 0, slot->marker, self->pt, slot->seq, slot->ts, self->ssrc);
    memcpy(p + 12, ext, ext_len);
    memcpy(p + 12 + ext_len, PyBytes_AS_STRING(slot->data) + slot->pstart, plen);
    return out;
}

static PyObject *Leg_get_ext_map(Leg *self, void *closure) {
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    for (int i = 0; i < 16; i++) {
        if (!self->ext_map[i])
            continue;
        PyObject *k = PyLong_FromLong(i), *v = PyLong_FromLong(self->ext_map[i]);
        int r = (k && v) ? PyDict_SetItem(d, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (r < 0) {
            Py_DECREF(d);
            return NULL;
        }
    }
    return d;
}

static int Leg_set_ext_map(Leg *self, PyObject *value, void *closure) {
    if (value == NULL || !PyDict_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "ext_map must be a dict");
        return -1;
    }
    uint8_t map[16] = {0};
    int any = 0;
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    while (PyDict_Next(value, &pos, &k, &v)) {
        long from = PyLong_AsLong(k), to = PyLong_AsLong(v);
        if (PyErr_Occurred())
            return -1;
        if (to < 1 || to > 14) {
            PyErr_SetString(PyExc_ValueError, "a one-byte header extension id is 1..14");
            return -1;
        }
        if (from >= 1 && from <= 14) {   /* no other id can arrive in a one-byte block */
            map[from] = (uint8_t)to;
            any = 1;
        }
    }
    memcpy(self->ext_map, map, sizeof(map));
    self->ext_any = any;
    return 0;
}

static PyObject *Leg_get_src_ssrc(Leg *self, void *closure) {
    if (!self->has_src)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(self->src_ssrc);
}

static int Leg_set_src_ssrc(Leg *self, PyObject *value, void *closure) {
    if (value == NULL || value == Py_None) {
        self->has_src = 0;
        return 0;
    }
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    self->src_ssrc = v;
    self->has_src = 1;
    return 0;
}

static PyObject *Leg_get_max_seq(Leg *self, void *closure) {
    if (!self->has_max)
        Py_RETURN_NONE;
    return PyLong_FromLong(self->max_seq);
}

static int Leg_set_max_seq(Leg *self, PyObject *value, void *closure) {
    if (value == NULL || value == Py_None) {
        self->has_max = 0;
        return 0;
    }
    long v = PyLong_AsLong(value);
    if (v == -1 && PyErr_Occurred())
        return -1;
    self->max_seq = (int)(v & 0xFFFF);
    self->has_max = 1;
    return 0;
}

static PyMemberDef Leg_members[] = {
    {"owner", T_OBJECT, offsetof(Leg, owner), READONLY, "the Consumer, which acts on verdicts"},
    {"path", T_OBJECT, offsetof(Leg, path), READONLY, "the SendPath (None until attached)"},
    {"video", T_INT, offsetof(Leg, video), READONLY, NULL},
    {"ts_step", T_UINT, offsetof(Leg, ts_step), 0, NULL},
    {"pt", T_INT, offsetof(Leg, pt), 0, NULL},
    {"ssrc", T_UINT, offsetof(Leg, ssrc), 0, NULL},
    {"seq_offset", T_INT, offsetof(Leg, seq_offset), 0, NULL},
    {"ts_offset", T_UINT, offsetof(Leg, ts_offset), 0, NULL},
    {"last_ts", T_UINT, offsetof(Leg, last_ts), 0, NULL},
    {"waiting_keyframe", T_BOOL, offsetof(Leg, waiting_keyframe), 0, NULL},
    {"packets_sent", T_ULONGLONG, offsetof(Leg, packets_sent), 0, NULL},
    {"octets_sent", T_ULONGLONG, offsetof(Leg, octets_sent), 0, NULL},
    {NULL}
};

static PyGetSetDef Leg_getset[] = {
    {"ext_map", (getter)Leg_get_ext_map, (setter)Leg_set_ext_map, NULL, NULL},
    {"src_ssrc", (getter)Leg_get_src_ssrc, (setter)Leg_set_src_ssrc, NULL, NULL},
    {"max_seq", (getter)Leg_get_max_seq, (setter)Leg_set_max_seq, NULL, NULL},
    {NULL}
};

static PyMethodDef Leg_methods[] = {
    {"attach", (PyCFunction)Leg_attach, METH_O, "Start sending on the SendPath."},
    {"detach", (PyCFunction)Leg_detach, METH_NOARGS, "Stop sending and drop the history."},
    {"rebuild", (PyCFunction)Leg_rebuild, METH_O, "The plain packet sent as seq, or None."},
    {NULL}
};

static PyTypeObject LegType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vidzzle_media.sfu._fastpath.Leg",
    .tp_doc = "One receiving leg's rewrite state (compiled; see leg.Leg).",
    .tp_basicsize = sizeof(Leg),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Leg_init,
    .tp_dealloc = (destructor)Leg_dealloc,
    .tp_traverse = (traverseproc)Leg_traverse,
    .tp_clear = (inquiry)Leg_clear,
    .tp_members = Leg_members,
    .tp_getset = Leg_getset,
    .tp_methods = Leg_methods,
};


/* --- View: rtp.RtpView in C ------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *data;
    PyObject *payload;          /* lazy */
    PyObject *extensions;       /* lazy */
    PyObject *ext_cache;        /* lazy */
    int marker, payload_type, seq;
    unsigned int timestamp;
    long long ssrc;
    Py_ssize_t payload_start, payload_end;
    Py_ssize_t ext_start, ext_end;      /* one-byte elements; ext_start < 0: none */
    char keyframe_start;
} View;

static PyTypeObject ViewType;

static int parse_view(View *v, PyObject *data) {
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "RTP packet must be bytes");
        return -1;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    if (n < 12) {
        PyErr_SetString(PyExc_ValueError, "RTP packet too short");
        return -1;
    }
    if (d[0] >> 6 != 2) {
        PyErr_SetString(PyExc_ValueError, "not RTP version 2");
        return -1;
    }
    Py_ssize_t pos = 12 + 4 * (d[0] & 0x0F);
    v->ext_start = v->ext_end = -1;
    if (d[0] & 0x10) {
        if (n < pos + 4) {
            PyErr_SetString(PyExc_ValueError, "truncated extension header");
            return -1;
        }
        Py_ssize_t ext_end = pos + 4 + 4 * (((Py_ssize_t)d[pos + 2] << 8) | d[pos + 3]);
        if (ext_end > n) {
            PyErr_SetString(PyExc_ValueError, "truncated extension");
            return -1;
        }
        if (d[pos] == 0xBE && d[pos + 1] == 0xDE) {
            Py_ssize_t i = pos + 4;
            while (i < ext_end) {           /* rtp.parse_one_byte_extensions' checks */
                unsigned char b = d[i];
                if (b == 0) {
                    i++;
                    continue;
                }
                if (b >> 4 == 15)
                    break;
                Py_ssize_t length = (b & 0x0F) + 1;
                if (i + 1 + length > ext_end) {
                    PyErr_SetString(PyExc_ValueError, "truncated header extension element");
                    return -1;
                }
                i += 1 + length;
            }
            v->ext_start = pos + 4;
            v->ext_end = ext_end;
        }
        pos = ext_end;
    }
    Py_ssize_t end = n;
    if (d[0] & 0x20) {
        Py_ssize_t pad = d[n - 1];
        if (pad == 0 || pad > end - pos) {
            PyErr_SetString(PyExc_ValueError, "bad padding");
            return -1;
        }
        end -= pad;
    }
    if (pos > end) {
        PyErr_SetString(PyExc_ValueError, "truncated packet");
        return -1;
    }
    Py_XSETREF(v->data, Py_NewRef(data));
    Py_CLEAR(v->payload);
    Py_CLEAR(v->extensions);
    Py_CLEAR(v->ext_cache);
    v->marker = d[1] >> 7;
    v->payload_type = d[1] & 0x7F;
    v->seq = (d[2] << 8) | d[3];
    v->timestamp = ((unsigned int)d[4] << 24) | ((unsigned int)d[5] << 16) | ((unsigned int)d[6] << 8) | d[7];
    v->ssrc = ((unsigned int)d[8] << 24) | ((unsigned int)d[9] << 16) | ((unsigned int)d[10] << 8) | d[11];
    v->payload_start = pos;
    v->payload_end = end;
    v->keyframe_start = 0;
    return 0;
}

static int View_init(View *self, PyObject *args, PyObject *kwds) {
    PyObject *data;
    if (!PyArg_ParseTuple(args, "O", &data))
        return -1;
    return parse_view(self, data);
}

static int View_traverse(View *self, visitproc visit, void *arg) {
    Py_VISIT(self->extensions);
    Py_VISIT(self->ext_cache);
    return 0;
}

static int View_clear(View *self) {
    Py_CLEAR(self->data);
    Py_CLEAR(self->payload);
    Py_CLEAR(self->extensions);
    Py_CLEAR(self->ext_cache);
    return 0;
}

static void View_dealloc(View *self) {
    PyObject_GC_UnTrack(self);
    View_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *View_get_payload(View *self, void *closure) {
    if (self->data == NULL)
        Py_RETURN_NONE;
    if (self->payload == NULL) {
        self->payload = PyBytes_FromStringAndSize(PyBytes_AS_STRING(self->data) + self->payload_start,
                                                  self->payload_end - self->payload_start);
        if (self->payload == NULL)
            return NULL;
    }
    return Py_NewRef(self->payload);
}

static PyObject *View_get_extensions(View *self, void *closure) {
    if (self->extensions == NULL) {
        PyObject *list = PyList_New(0);
        if (list == NULL)
            return NULL;
        if (self->ext_start >= 0) {
            const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(self->data);
            Py_ssize_t i = self->ext_start;
            while (i < self->ext_end) {
                unsigned char b = d[i];
                if (b == 0) {
                    i++;
                    continue;
                }
                if (b >> 4 == 15)
                    break;
                Py_ssize_t length = (b & 0x0F) + 1;
                PyObject *item = Py_BuildValue("(iy#)", b >> 4, (const char *)d + i + 1, length);
                if (item == NULL || PyList_Append(list, item) < 0) {
                    Py_XDECREF(item);
                    Py_DECREF(list);
                    return NULL;
                }
                Py_DECREF(item);
                i += 1 + length;
            }
        }
        self->extensions = list;
    }
    return Py_NewRef(self->extensions);
}

static PyObject *View_get_ext_cache(View *self, void *closure) {
    if (self->ext_cache == NULL && (self->ext_cache = PyDict_New()) == NULL)
        return NULL;
    return Py_NewRef(self->ext_cache);
}

static PyObject *View_get_ssrc(View *self, void *closure) {
    return PyLong_FromLongLong(self->ssrc);
}

static int View_set_ssrc(View *self, PyObject *value, void *closure) {
    long long v = value == NULL ? -1 : PyLong_AsLongLong(value);
    if (v == -1 && (value == NULL || PyErr_Occurred())) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "ssrc cannot be deleted");
        return -1;
    }
    self->ssrc = v;
    return 0;
}

static PyMemberDef View_members[] = {
    {"data", T_OBJECT, offsetof(View, data), READONLY, NULL},
    {"marker", T_INT, offsetof(View, marker), READONLY, NULL},
    {"payload_type", T_INT, offsetof(View, payload_type), READONLY, NULL},
    {"seq", T_INT, offsetof(View, seq), READONLY, NULL},
    {"timestamp", T_UINT, offsetof(View, timestamp), READONLY, NULL},
    {"payload_start", T_PYSSIZET, offsetof(View, payload_start), READONLY, NULL},
    {"payload_end", T_PYSSIZET, offsetof(View, payload_end), READONLY, NULL},
    {"keyframe_start", T_BOOL, offsetof(View, keyframe_start), 0, NULL},
    {NULL}
};

static PyGetSetDef View_getset[] = {
    {"payload", (getter)View_get_payload, NULL, NULL, NULL},
    {"extensions", (getter)View_get_extensions, NULL, NULL, NULL},
    {"ext_cache", (getter)View_get_ext_cache, NULL, NULL, NULL},
    {"ssrc", (getter)View_get_ssrc, (setter)View_set_ssrc, NULL, NULL},
    {NULL}
};

static PyTypeObject ViewType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vidzzle_media.sfu._fastpath.View",
    .tp_doc = "One parsed incoming RTP packet (compiled; see rtp.RtpView).",
    .tp_basicsize = sizeof(View),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)View_init,
    .tp_dealloc = (destructor)View_dealloc,
    .tp_traverse = (traverseproc)View_traverse,
    .tp_clear = (inquiry)View_clear,
    .tp_members = View_members,
    .tp_getset = View_getset,
};

/* --- Receiver: aiortc_glue._make_receiver in C --------------------------------- */

#define RX_ROOM 1500            /* pylibsrtp's buffer: longer SRTP is refused like there */
#define MAX_VERDICTS 64

typedef struct {
    PyObject_HEAD
    PyObject *original, *dtls, *allowed, *on_rtp, *on_rtcp, *screen, *drop, *report, *pointer;
    PyObject *verdicts;
    PyObject *session;
    void *srtp;
    unsigned char buf[RX_ROOM + 64];
} Receiver;

static int Receiver_init(Receiver *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"original", "dtls", "allowed", "on_rtp", "on_rtcp", "screen", "drop", "report",
                             "pointer", NULL};
    PyObject *o[9];
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOOOOO", kwlist, &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                                     &o[6], &o[7], &o[8]))
        return -1;
    Py_XSETREF(self->original, Py_NewRef(o[0]));
    Py_XSETREF(self->dtls, Py_NewRef(o[1]));
    Py_XSETREF(self->allowed, Py_NewRef(o[2]));
    Py_XSETREF(self->on_rtp, Py_NewRef(o[3]));
    Py_XSETREF(self->on_rtcp, Py_NewRef(o[4]));
    Py_XSETREF(self->screen, Py_NewRef(o[5]));
    Py_XSETREF(self->drop, Py_NewRef(o[6]));
    Py_XSETREF(self->report, Py_NewRef(o[7]));
    Py_XSETREF(self->pointer, Py_NewRef(o[8]));
    Py_XSETREF(self->verdicts, PyDict_New());
    Py_CLEAR(self->session);
    self->srtp = NULL;
    return self->verdicts == NULL ? -1 : 0;
}

static int Receiver_traverse(Receiver *self, visitproc visit, void *arg) {
    Py_VISIT(self->original);
    Py_VISIT(self->dtls);
    Py_VISIT(self->allowed);
    Py_VISIT(self->on_rtp);
    Py_VISIT(self->on_rtcp);
    Py_VISIT(self->screen);
    Py_VISIT(self->drop);
    Py_VISIT(self->report);
    Py_VISIT(self->pointer);
    Py_VISIT(self->verdicts);
    Py_VISIT(self->session);
    return 0;
}

static int Receiver_clear(Receiver *self) {
    Py_CLEAR(self->original);
    Py_CLEAR(self->dtls);
    Py_CLEAR(self->allowed);
    Py_CLEAR(self->on_rtp);
    Py_CLEAR(self->on_rtcp);
    Py_CLEAR(self->screen);
    Py_CLEAR(self->drop);
    Py_CLEAR(self->report);
    Py_CLEAR(self->pointer);
    Py_CLEAR(self->verdicts);
    Py_CLEAR(self->session);
    return 0;
}

static void Receiver_dealloc(Receiver *self) {
    PyObject_GC_UnTrack(self);
    Receiver_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Whether datagrams from this address may pass (asked once, then cached). */
static int address_allowed(Receiver *self, PyObject *addr) {
    if (!PyTuple_Check(addr) || PyTuple_GET_SIZE(addr) < 1) {
        PyErr_SetString(PyExc_TypeError, "addr must be a tuple");
        return -1;
    }
    PyObject *host = PyTuple_GET_ITEM(addr, 0);
    PyObject *verdict = PyDict_GetItemWithError(self->verdicts, host);
    if (verdict != NULL)
        return verdict == Py_True;
    if (PyErr_Occurred())
        return -1;
    PyObject *r = PyObject_CallOneArg(self->allowed, host);
    if (r == NULL)
        return -1;
    int ok = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (ok < 0)
        return -1;
    if (PyDict_SetItem(self->verdicts, host, ok ? Py_True : Py_False) < 0)
        return -1;
    if (PyDict_GET_SIZE(self->verdicts) > MAX_VERDICTS)      /* bounded: spoofed sources cannot grow it */
        PyDict_Clear(self->verdicts);
    return ok;
}

/* A callback's result; an Exception it raised goes to report (never let
 * forwarding kill the socket callback). */
static PyObject *reported(Receiver *self, PyObject *r) {
    if (r != NULL || !PyErr_ExceptionMatches(PyExc_Exception))
        return r;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    r = PyObject_CallOneArg(self->report, value);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return r;
}

static PyObject *Receiver_call(Receiver *self, PyObject *args, PyObject *kwds) {
    PyObject *data, *addr;
    if (!PyArg_ParseTuple(args, "OO", &data, &addr))
        return NULL;
    int ok = address_allowed(self, addr);
    if (ok <= 0)
        return ok < 0 ? NULL : Py_NewRef(Py_None);
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "datagram must be bytes");
        return NULL;
    }
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    /* SRTP, not SRTCP (byte 1 of RTCP is 192-208): the hot path, checked first */
    if (self->on_rtp != Py_None && n > 12 && d[0] > 127 && d[0] < 192 && !(d[1] > 191 && d[1] < 209)
            && self->dtls != Py_None) {
        PyObject *session = PyObject_GetAttr(self->dtls, str_rx_srtp);
        if (session == NULL)
            return NULL;
        if (session != Py_None) {
            if (session != self->session) {
                PyObject *address = PyObject_CallOneArg(self->pointer, session);
                if (address == NULL) {
                    Py_DECREF(session);
                    return NULL;
                }
                self->srtp = PyLong_AsVoidPtr(address);
                Py_DECREF(address);
                if (PyErr_Occurred()) {
                    Py_DECREF(session);
                    return NULL;
                }
                Py_XSETREF(self->session, Py_NewRef(session));
            }
            Py_DECREF(session);
            int len = (int)n;
            int authentic = n <= RX_ROOM && self->srtp != NULL;
            if (authentic) {
                memcpy(self->buf, d, n);
                authentic = srtp_unprotect_fn(self->srtp, self->buf, &len) == 0;
            }
            if (!authentic)      /* not from our publisher (or a replay): SRTP says no */
                return PyObject_CallFunctionObjArgs(self->drop, str_unauthenticated, addr, NULL);
            PyObject *plain = PyBytes_FromStringAndSize((const char *)self->buf, len);
            if (plain == NULL)
                return NULL;
            PyObject *r = PyObject_CallOneArg(self->on_rtp, plain);
            Py_DECREF(plain);
            return reported(self, r);
        }
        Py_DECREF(session);
    }
    /* SRTCP (RTP version, byte 1 is 192-208), once DTLS gave the keys */
    if (self->on_rtcp != Py_None && n > 12 && d[0] > 127 && d[0] < 192 && d[1] > 191 && d[1] < 209
            && self->dtls != Py_None) {
        PyObject *session = PyObject_GetAttr(self->dtls, str_rx_srtp);
        if (session == NULL)
            return NULL;
        int keyed = session != Py_None;
        Py_DECREF(session);
        if (keyed)
            return reported(self, PyObject_CallOneArg(self->on_rtcp, data));
    }
    PyObject *passed = PyObject_CallFunctionObjArgs(self->screen, data, addr, NULL);
    if (passed == NULL)
        return NULL;
    int pass = PyObject_IsTrue(passed);
    Py_DECREF(passed);
    if (pass < 0)
        return NULL;
    if (!pass)
        Py_RETURN_NONE;
    return PyObject_CallFunctionObjArgs(self->original, data, addr, NULL);
}

static PyMemberDef Receiver_members[] = {
    {"original", T_OBJECT, offsetof(Receiver, original), READONLY, "aioice's datagram_received"},
    {NULL}
};

static PyTypeObject ReceiverType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vidzzle_media.sfu._fastpath.Receiver",
    .tp_doc = "An ICE socket's datagram_received (compiled; see aiortc_glue._make_receiver).",
    .tp_basicsize = sizeof(Receiver),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Receiver_init,
    .tp_dealloc = (destructor)Receiver_dealloc,
    .tp_traverse = (traverseproc)Receiver_traverse,
    .tp_clear = (inquiry)Receiver_clear,
    .tp_call = (ternaryfunc)Receiver_call,
    .tp_members = Receiver_members,
};

/* --- fanout --------------------------------------------------------------- */

typedef struct {
    const unsigned char *data;
    Py_ssize_t len;
    uint32_t ts, ssrc;
    uint16_t seq;
    int marker, keyframe;
    Py_ssize_t pstart, pend;
    Py_ssize_t ext_start, ext_end;   /* one-byte element bytes; ext_start < 0: none */
} Packet;

/* The leg's extension block (with its 4-byte header) into out; its length. */
static Py_ssize_t build_ext(const Leg *leg, const Packet *pk, unsigned char *out, Py_ssize_t room) {
    Py_ssize_t o = 4, i = pk->ext_start, n = pk->ext_end;
    while (i < n) {
        unsigned char b = pk->data[i];
        if (b == 0) {
            i++;
            continue;
        }
        int id = b >> 4, length = (b & 0x0F) + 1;
        if (id == 15 || i + 1 + length > n)
            break;
        uint8_t to = leg->ext_map[id];
        if (to) {
            if (o + 1 + length + 3 > room)
                return -1;
            out[o++] = (unsigned char)((to << 4) | (length - 1));
            memcpy(out + o, pk->data + i + 1, length);
            o += length;
        }
        i += 1 + length;
    }
    if (o == 4)
        return 0;
    while (o % 4)
        out[o++] = 0;
    Py_ssize_t words = (o - 4) / 4;
    out[0] = 0xBE;
    out[1] = 0xDE;
    out[2] = (unsigned char)(words >> 8);
    out[3] = (unsigned char)(words & 0xFF);
    return o;
}

static int read_view(PyObject *view, Packet *pk, PyObject **data_out) {
    if (PyObject_TypeCheck(view, &ViewType)) {     /* the compiled View: its fields directly */
        View *v = (View *)view;
        if (v->data == NULL) {
            PyErr_SetString(PyExc_ValueError, "an unparsed View");
            return -1;
        }
        *data_out = Py_NewRef(v->data);
        pk->data = (const unsigned char *)PyBytes_AS_STRING(v->data);
        pk->len = PyBytes_GET_SIZE(v->data);
        pk->seq = (uint16_t)v->seq;
        pk->ts = v->timestamp;
        pk->ssrc = (uint32_t)v->ssrc;
        pk->marker = v->marker;
        pk->pstart = v->payload_start;
        pk->pend = v->payload_end;
        pk->keyframe = v->keyframe_start != 0;
        pk->ext_start = v->ext_start;
        pk->ext_end = v->ext_end;
        return 0;
    }
    PyObject *data = PyObject_GetAttr(view, str_data);
    if (data == NULL)
        return -1;
    if (!PyBytes_Check(data)) {
        Py_DECREF(data);
        PyErr_SetString(PyExc_TypeError, "view.data must be bytes");
        return -1;
    }
    *data_out = data;
    pk->data = (const unsigned char *)PyBytes_AS_STRING(data);
    pk->len = PyBytes_GET_SIZE(data);
    PyObject *names[7] = {str_seq, str_timestamp, str_ssrc, str_marker, str_payload_start,
                          str_payload_end, str_keyframe_start};
    long long values[7];
    for (int k = 0; k < 7; k++) {
        PyObject *v = PyObject_GetAttr(view, names[k]);
        if (v == NULL)
            return -1;
        values[k] = PyLong_AsLongLong(v);
        Py_DECREF(v);
        if (values[k] == -1 && PyErr_Occurred())
            return -1;
    }
    pk->seq = (uint16_t)values[0];
    pk->ts = (uint32_t)values[1];
    pk->ssrc = (uint32_t)values[2];
    pk->marker = (int)values[3];
    pk->pstart = (Py_ssize_t)values[4];
    pk->pend = (Py_ssize_t)values[5];
    pk->keyframe = values[6] != 0;
    if (pk->pstart < 12 || pk->pend < pk->pstart || pk->pend > pk->len || pk->len > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "view offsets outside its packet");
        return -1;
    }
    pk->ext_start = -1;
    pk->ext_end = -1;
    const unsigned char *d = pk->data;
    if (d[0] & 0x10) {
        Py_ssize_t pos = 12 + 4 * (d[0] & 0x0F);
        if (pos + 4 <= pk->len && d[pos] == 0xBE && d[pos + 1] == 0xDE) {
            Py_ssize_t end = pos + 4 + 4 * (((Py_ssize_t)d[pos + 2] << 8) | d[pos + 3]);
            if (end <= pk->pstart) {
                pk->ext_start = pos + 4;
                pk->ext_end = end;
            }
        }
    }
    return 0;
}

/* The verdict when a send failed: CONGESTED for video while the path says so. */
static int failed_verdict(Leg *leg) {
    if (!leg->video || leg->path == NULL)
        return 0;
    PyObject *c = PyObject_GetAttr(leg->path, str_congested);
    if (c == NULL)
        return -1;
    int congested = PyObject_IsTrue(c);
    Py_DECREF(c);
    if (congested < 0)
        return -1;
    leg->maybe_congested |= congested;
    return congested ? VERDICT_CONGESTED : 0;
}

static int add_verdict(PyObject **out, Leg *leg, int verdict) {
    if (*out == NULL && (*out = PyList_New(0)) == NULL)
        return -1;
    PyObject *pair = Py_BuildValue("(Oi)", (PyObject *)leg, verdict);
    if (pair == NULL)
        return -1;
    int r = PyList_Append(*out, pair);
    Py_DECREF(pair);
    return r;
}

/* Through the transport (its queue, or a path without a socket of its own). */
static int send_via_python(Leg *leg, const unsigned char *p, int n, Py_ssize_t plen, PyObject **out) {
    PyObject *datagram = PyBytes_FromStringAndSize((const char *)p, n);
    if (datagram == NULL)
        return -1;
    leg->maybe_congested = 1;
    PyObject *r = PyObject_CallMethodOneArg(leg->path, str_send_datagram, datagram);
    Py_DECREF(datagram);
    if (r == NULL)
        return -1;
    int ok = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (ok < 0)
        return -1;
    if (ok) {
        leg->packets_sent++;
        leg->octets_sent += plen;
        return 0;
    }
    int verdict = failed_verdict(leg);
    if (verdict < 0)
        return -1;
    return verdict ? add_verdict(out, leg, verdict) : 0;
}

typedef struct {
    Leg *leg;
    int len;
    int err;
} Pending;

/* Send the batch: one sendmmsg per run of the same socket, the GIL released. */
static int flush(Pending *batch, int count, Py_ssize_t plen, PyObject **out) {
    if (count == 0)
        return 0;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof(struct mmsghdr) * count);
    for (int k = 0; k < count; k++) {
        Leg *leg = batch[k].leg;
        iov[k].iov_base = leg->buf;
        iov[k].iov_len = batch[k].len;
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        msgs[k].msg_hdr.msg_name = &leg->addr;
        msgs[k].msg_hdr.msg_namelen = leg->addrlen;
        batch[k].err = -1;      /* not attempted */
    }
    Py_BEGIN_ALLOW_THREADS
    int k = 0;
    while (k < count) {
        int fd = batch[k].leg->fd, run = 1;
        while (k + run < count && batch[k + run].leg->fd == fd)
            run++;
        int done = 0;
        while (done < run) {
            int sent = sendmmsg(fd, &msgs[k + done], run - done, 0);
            if (sent < 0) {
                if (errno == EINTR)
                    continue;
                batch[k + done].err = errno;
                done++;
            } else {
                for (int j = 0; j < sent; j++)
                    batch[k + done + j].err = 0;
                done += sent;
            }
        }
        k += run;
    }
    Py_END_ALLOW_THREADS
    int status = 0;
    for (int j = 0; j < count; j++) {
        Leg *leg = batch[j].leg;
        leg->pending = 0;
        if (status < 0)
            continue;
        int err = batch[j].err;
        if (err == 0) {
            leg->packets_sent++;
            leg->octets_sent += plen;
            if (leg->maybe_congested) {
                leg->maybe_congested = 0;
                if (PyObject_SetAttr(leg->path, str_congested, Py_False) < 0)
                    status = -1;
            }
        } else if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            /* the socket is full: the transport queues it (or says congested) */
            if (send_via_python(leg, leg->buf, batch[j].len, plen, out) < 0)
                status = -1;
        } else {
            int verdict = failed_verdict(leg);
            if (verdict < 0 || (verdict && add_verdict(out, leg, verdict) < 0))
                status = -1;
        }
    }
    return status;
}

static PyObject *fanout(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fanout(view, legs: tuple)");
        return NULL;
    }
    PyObject *legs = args[1];
    Py_ssize_t n = PyTuple_GET_SIZE(legs);
    if (n == 0)
        Py_RETURN_NONE;
    if (srtp_protect_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "set_protect() was not called");
        return NULL;
    }
    Packet pk;
    PyObject *data = NULL, *out = NULL;
    if (read_view(args[0], &pk, &data) < 0) {
        Py_XDECREF(data);
        return NULL;
    }
    Py_ssize_t plen = pk.pend - pk.pstart;
    Pending batch[BATCH];
    int count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(legs, i);
        if (!PyObject_TypeCheck(item, &LegType)) {
            PyErr_SetString(PyExc_TypeError, "fanout: legs must be compiled Legs");
            goto error;
        }
        Leg *leg = (Leg *)item;
        if (leg->state == STATE_DETACHED)
            continue;
        int stale = target_stale(leg);
        if (stale < 0 || (stale && retarget(leg) < 0))
            goto error;
        if (!leg->has_src || leg->src_ssrc != (long long)pk.ssrc || leg->waiting_keyframe) {
            if (leg->video && !pk.keyframe) {
                leg->waiting_keyframe = 1;
                if (add_verdict(&out, leg, VERDICT_WAITING) < 0)
                    goto error;
                continue;
            }
            /* switch source: continue our sequence/timestamp space */
            leg->waiting_keyframe = 0;
            if (leg->has_src && leg->has_max) {
                leg->seq_offset = (leg->max_seq + 1 - pk.seq) & 0xFFFF;
                leg->ts_offset = leg->last_ts + leg->ts_step - pk.ts;
            } else if (leg->has_max) {
                leg->seq_offset = (leg->max_seq + 1 - pk.seq) & 0xFFFF;
            } else {
                leg->seq_offset = (leg->seq_offset - pk.seq) & 0xFFFF;
            }
            leg->src_ssrc = pk.ssrc;
            leg->has_src = 1;
        }
        if (leg->pending) {     /* the same leg twice: its buffer is about to be reused */
            int r = flush(batch, count, plen, &out);
            count = 0;
            if (r < 0)
                goto error;
        }
        uint16_t seq = (uint16_t)((pk.seq + leg->seq_offset) & 0xFFFF);
        uint32_t ts = pk.ts + leg->ts_offset;
        unsigned char *buf = leg->buf;
        Py_ssize_t ext_len = 0;
        if (pk.ext_start >= 0 && leg->ext_any) {
            ext_len = build_ext(leg, &pk, buf + 12, BUF_SIZE - 12);
            if (ext_len < 0) {
                PyErr_SetString(PyExc_ValueError, "extension block too long");
                goto error;
            }
        }
        /* history (video): the incoming packet by reference, the small rest inline */
        if (leg->history != NULL) {
            Slot *slot = &leg->history[seq & HISTORY_MASK];
            Py_XSETREF(slot->data, Py_NewRef(data));
            Py_CLEAR(slot->ext_obj);
            slot->seq = seq;
            slot->ts = ts;
            slot->marker = (uint8_t)(pk.marker & 1);
            slot->pstart = (uint16_t)pk.pstart;
            slot->pend = (uint16_t)pk.pend;
            if (ext_len <= EXT_INLINE) {
                memcpy(slot->ext, buf + 12, ext_len);
                slot->ext_len = (uint8_t)ext_len;
            } else {
                slot->ext_len = 0;
                slot->ext_obj = PyBytes_FromStringAndSize((const char *)buf + 12, ext_len);
                if (slot->ext_obj == NULL)
                    goto error;
            }
        }
        if (!leg->has_max || (((seq - leg->max_seq) & 0xFFFF) > 0 && ((seq - leg->max_seq) & 0xFFFF) < 0x8000)) {
            leg->max_seq = seq;
            leg->has_max = 1;
            leg->last_ts = ts;
        }
        /* send */
        Py_ssize_t total = 12 + ext_len + plen;
        int len = (int)total;
        if (leg->state != STATE_UP || total > MAX_PLAIN) {
            int verdict = failed_verdict(leg);
            if (verdict < 0 || (verdict && add_verdict(&out, leg, verdict) < 0))
                goto error;
            continue;
        }
        write_header(buf, ext_len > 0, pk.marker, leg->pt, seq, ts, leg->ssrc);
        memcpy(buf + 12 + ext_len, pk.data + pk.pstart, plen);
        if (srtp_protect_fn(leg->srtp, buf, &len) != 0) {
            int verdict = failed_verdict(leg);   /* e.g. the key is used up: dropped, like aiortc */
            if (verdict < 0 || (verdict && add_verdict(&out, leg, verdict) < 0))
                goto error;
            continue;
        }
        int queued = 0;
        if (leg->backlog != NULL) {
            Py_ssize_t q = PyObject_Length(leg->backlog);
            if (q < 0)
                goto error;
            queued = q > 0;
        }
        if (leg->fd < 0 || queued) {
            if (send_via_python(leg, buf, len, plen, &out) < 0)
                goto error;
            continue;
        }
        batch[count].leg = leg;
        batch[count].len = len;
        leg->pending = 1;
        if (++count == BATCH) {
            int r = flush(batch, count, plen, &out);
            count = 0;
            if (r < 0)
                goto error;
        }
    }
    if (flush(batch, count, plen, &out) < 0) {
        count = 0;
        goto error;
    }
    Py_DECREF(data);
    if (out == NULL)
        Py_RETURN_NONE;
    return out;
error:
    for (int k = 0; k < count; k++)
        batch[k].leg->pending = 0;
    Py_XDECREF(data);
    Py_XDECREF(out);
    return NULL;
}

/* --- Intake and Demux: intake.py in C ------------------------------------------ */

#define NACK_WINDOW 256         /* intake.NACK_WINDOW (a power of two: slot = seq & mask) */
#define NACK_MAX_GAP 200
#define NACK_ATTEMPTS 3
#define NACK_RETRY_S 0.04
#define CODEC_VP8 1             /* intake.Codec */
#define CODEC_H264 2

static int seq_newer(int a, int b) {
    return a != b && ((a - b) & 0xFFFF) < 0x8000;
}

/* rtp._vp8_descriptor_end: -1 when the descriptor is cut short */
static Py_ssize_t vp8_descriptor_end(const unsigned char *p, Py_ssize_t n) {
    if (n == 0)
        return -1;
    Py_ssize_t i = 1;
    if (p[0] & 0x80) {
        if (n < 2)
            return -1;
        unsigned char x = p[1];
        i = 2;
        if (x & 0x80) {
            if (n <= i)
                return -1;
            i += (p[i] & 0x80) ? 2 : 1;
        }
        if (x & 0x40)
            i++;
        if (x & 0x30)
            i++;
    }
    return i < n ? i : -1;
}

static int vp8_keyframe_start(const unsigned char *p, Py_ssize_t n) {
    if (n == 0 || !(p[0] & 0x10) || (p[0] & 0x07))
        return 0;
    Py_ssize_t i = vp8_descriptor_end(p, n);
    return i >= 0 && (p[i] & 0x01) == 0;
}

static int vp8_payload_ok(const unsigned char *p, Py_ssize_t n) {
    Py_ssize_t i = vp8_descriptor_end(p, n);
    if (i < 0)
        return 0;
    if ((p[0] & 0x10) && !(p[0] & 0x07)) {
        if (n < i + 3)
            return 0;
        if (!(p[i] & 0x01))
            return n >= i + 10 && p[i + 3] == 0x9D && p[i + 4] == 0x01 && p[i + 5] == 0x2A;
    }
    return 1;
}

static int h264_payload_ok(const unsigned char *p, Py_ssize_t n) {
    if (n == 0 || (p[0] & 0x80))
        return 0;
    int nal = p[0] & 0x1F;
    if (nal == 0 || nal == 25 || nal == 26 || nal == 27 || nal == 29 || nal == 30 || nal == 31)
        return 0;
    if (nal == 28)
        return n > 2;
    if (nal == 24) {
        Py_ssize_t i = 1;
        while (i < n) {
            if (i + 2 > n)
                return 0;
            Py_ssize_t size = ((Py_ssize_t)p[i] << 8) | p[i + 1];
            if (size == 0 || i + 2 + size > n)
                return 0;
            i += 2 + size;
        }
    }
    return 1;
}

static int h264_keyframe_start(const unsigned char *p, Py_ssize_t n) {
    if (n == 0)
        return 0;
    int nal = p[0] & 0x1F;
    if (nal == 5 || nal == 7)
        return 1;
    if (nal == 24) {
        Py_ssize_t i = 1;
        while (i + 2 < n) {
            Py_ssize_t size = ((Py_ssize_t)p[i] << 8) | p[i + 1];
            int unit = p[i + 2] & 0x1F;
            if (unit == 5 || unit == 7)
                return 1;
            i += 2 + size;
        }
        return 0;
    }
    if (nal == 28 && n > 1)
        return (p[1] & 0x80) && ((p[1] & 0x1F) == 5 || (p[1] & 0x1F) == 7);
    return 0;
}

typedef struct {
    PyObject_HEAD
    PyObject *owner;
    PyObject *legs;                     /* tuple of compiled Legs */
    int payload_type, rtx_payload_type; /* rtx -1: none */
    int codec;
    char paused;
    char has_ssrc;
    long long media_ssrc;
    long long packets, keyframes, recovered, nacked;
    char has_base;
    int base_seq, max_seq;
    long long cycles, received;
    char has_highest;
    int highest;
    int missing_count;
    double last_nack;
    uint16_t miss_seq[NACK_WINDOW];
    int8_t miss_attempts[NACK_WINDOW];  /* -1: empty slot */
} Intake;

static PyTypeObject IntakeType;

static void intake_new_source(Intake *self) {
    self->has_highest = 0;
    memset(self->miss_attempts, -1, sizeof(self->miss_attempts));
    self->missing_count = 0;
    self->has_base = 0;
    self->max_seq = 0;
    self->cycles = self->received = 0;
}

static int Intake_init(Intake *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"owner", "payload_type", "rtx_payload_type", "codec", NULL};
    PyObject *owner, *rtx;
    int pt, codec;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OiOi", kwlist, &owner, &pt, &rtx, &codec))
        return -1;
    int rtx_pt = -1;
    if (rtx != Py_None && (rtx_pt = (int)PyLong_AsLong(rtx)) == -1 && PyErr_Occurred())
        return -1;
    Py_XSETREF(self->owner, Py_NewRef(owner));
    Py_XSETREF(self->legs, PyTuple_New(0));
    if (self->legs == NULL)
        return -1;
    self->payload_type = pt;
    self->rtx_payload_type = rtx_pt;
    self->codec = codec;
    self->paused = 0;
    self->has_ssrc = 0;
    self->packets = self->keyframes = self->recovered = self->nacked = 0;
    self->last_nack = 0.0;
    intake_new_source(self);
    return 0;
}

static int Intake_traverse(Intake *self, visitproc visit, void *arg) {
    Py_VISIT(self->owner);
    Py_VISIT(self->legs);
    return 0;
}

static int Intake_clear(Intake *self) {
    Py_CLEAR(self->owner);
    Py_CLEAR(self->legs);
    return 0;
}

static void Intake_dealloc(Intake *self) {
    PyObject_GC_UnTrack(self);
    Intake_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int call_owner(Intake *self, PyObject *name, PyObject *arg) {
    PyObject *r = arg == NULL ? PyObject_CallMethodNoArgs(self->owner, name)
                              : PyObject_CallMethodOneArg(self->owner, name, arg);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

/* intake.Intake._track_loss */
static int track_loss(Intake *self, int seq, double now) {
    if (!self->has_highest) {
        self->has_highest = 1;
        self->highest = seq;
        return 0;
    }
    int highest = self->highest;
    if (seq_newer(seq, highest)) {
        int gap = (seq - highest) & 0xFFFF;
        if (gap > 1 && gap <= NACK_MAX_GAP) {
            for (int k = highest + 1; k < highest + gap; k++) {
                int s = k & 0xFFFF, slot = s & (NACK_WINDOW - 1);
                if (self->miss_attempts[slot] < 0)
                    self->missing_count++;
                self->miss_seq[slot] = (uint16_t)s;
                self->miss_attempts[slot] = 0;
            }
        }
        self->highest = highest = seq;
    } else {
        int slot = seq & (NACK_WINDOW - 1);
        if (self->miss_attempts[slot] >= 0 && self->miss_seq[slot] == seq) {
            self->miss_attempts[slot] = -1;
            self->missing_count--;
        }
    }
    if (!self->missing_count || now - self->last_nack < NACK_RETRY_S)
        return 0;
    self->last_nack = now;
    PyObject *due = NULL;
    for (int back = NACK_WINDOW - 1; back >= 0; back--) {     /* every slot once, oldest first */
        int s = (highest - back) & 0xFFFF, slot = s & (NACK_WINDOW - 1);
        if (self->miss_attempts[slot] < 0)
            continue;
        if (self->miss_seq[slot] != s || self->miss_attempts[slot] >= NACK_ATTEMPTS || back == 0
                || back > NACK_MAX_GAP) {
            self->miss_attempts[slot] = -1;
            self->missing_count--;
            continue;
        }
        self->miss_attempts[slot]++;
        PyObject *item = PyLong_FromLong(s);
        if (item == NULL || (due == NULL && (due = PyList_New(0)) == NULL) || PyList_Append(due, item) < 0) {
            Py_XDECREF(item);
            Py_XDECREF(due);
            return -1;
        }
        Py_DECREF(item);
    }
    if (due == NULL)
        return 0;
    self->nacked += PyList_GET_SIZE(due);
    int r = call_owner(self, str_on_nack, due);
    Py_DECREF(due);
    return r;
}

/* rtp.unwrap_rtx and a View of the result; NULL with no error: nothing to forward */
static View *unwrap(Intake *self, View *v) {
    Py_ssize_t plen = v->payload_end - v->payload_start, hlen = v->payload_start;
    if (plen < 2)
        return NULL;        /* padding-only probe */
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(v->data);
    PyObject *data = PyBytes_FromStringAndSize(NULL, hlen + plen - 2);
    if (data == NULL)
        return NULL;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(data);
    out[0] = d[0] & ~0x20;
    out[1] = (unsigned char)((v->marker << 7) | self->payload_type);
    out[2] = d[hlen];
    out[3] = d[hlen + 1];
    memcpy(out + 4, d + 4, hlen - 4);
    memcpy(out + hlen, d + hlen + 2, plen - 2);
    View *nv = (View *)PyType_GenericNew(&ViewType, NULL, NULL);
    if (nv == NULL || parse_view(nv, data) < 0) {
        Py_DECREF(data);
        Py_XDECREF(nv);
        if (PyErr_ExceptionMatches(PyExc_ValueError))
            PyErr_Clear();
        return NULL;
    }
    Py_DECREF(data);
    nv->ssrc = self->media_ssrc;
    self->recovered++;
    return nv;
}

/* intake.Intake.receive */
static int intake_receive(Intake *self, View *view, double now) {
    View *rtx = NULL;
    int rc = -1;
    if (view->payload_type != self->payload_type) {
        if (view->payload_type != self->rtx_payload_type || !self->has_ssrc)
            return 0;
        rtx = unwrap(self, view);
        if (rtx == NULL)
            return PyErr_Occurred() ? -1 : 0;
        view = rtx;
    }
    if (!self->has_ssrc || view->ssrc != self->media_ssrc) {
        self->has_ssrc = 1;
        self->media_ssrc = view->ssrc;
        intake_new_source(self);
        if (call_owner(self, str_on_new_source, NULL) < 0)
            goto done;
    }
    if (track_loss(self, view->seq, now) < 0)
        goto done;
    self->received++;
    if (!self->has_base) {
        self->has_base = 1;
        self->base_seq = self->max_seq = view->seq;
    } else if (seq_newer(view->seq, self->max_seq)) {
        if (view->seq < self->max_seq)
            self->cycles += 1 << 16;
        self->max_seq = view->seq;
    }
    if (self->codec == CODEC_VP8 || self->codec == CODEC_H264) {
        const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(view->data) + view->payload_start;
        Py_ssize_t n = view->payload_end - view->payload_start;
        int vp8 = self->codec == CODEC_VP8;
        if (n > 0 && !(vp8 ? vp8_payload_ok(p, n) : h264_payload_ok(p, n))) {
            rc = call_owner(self, str_on_malformed, NULL);
            goto done;
        }
        if (vp8 ? vp8_keyframe_start(p, n) : h264_keyframe_start(p, n)) {
            view->keyframe_start = 1;
            self->keyframes++;
        }
    }
    self->packets++;
    if (self->paused || PyTuple_GET_SIZE(self->legs) == 0) {
        rc = 0;
        goto done;
    }
    PyObject *legs = Py_NewRef(self->legs);     /* a callback may set new legs meanwhile */
    PyObject *args[2] = {(PyObject *)view, legs};
    PyObject *verdicts = fanout(NULL, args, 2);
    Py_DECREF(legs);
    if (verdicts == NULL)
        goto done;
    rc = 0;
    if (verdicts != Py_None) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(verdicts) && rc == 0; i++) {
            PyObject *pair = PyList_GET_ITEM(verdicts, i);
            PyObject *owner = PyObject_GetAttr(PyTuple_GET_ITEM(pair, 0), str_owner);
            PyObject *r = owner == NULL ? NULL
                : PyObject_CallMethodOneArg(owner, str_on_verdict, PyTuple_GET_ITEM(pair, 1));
            Py_XDECREF(owner);
            Py_XDECREF(r);
            rc = r == NULL ? -1 : 0;
        }
    }
    Py_DECREF(verdicts);
done:
    Py_XDECREF(rtx);
    return rc;
}

static PyObject *Intake_receive(Intake *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyObject_TypeCheck(args[0], &ViewType)) {
        PyErr_SetString(PyExc_TypeError, "receive(view: View, now: float)");
        return NULL;
    }
    double now = PyFloat_AsDouble(args[1]);
    if (now == -1.0 && PyErr_Occurred())
        return NULL;
    if (intake_receive(self, (View *)args[0], now) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Intake_get_legs(Intake *self, void *closure) {
    return Py_NewRef(self->legs);
}

static int Intake_set_legs(Intake *self, PyObject *value, void *closure) {
    if (value == NULL || !PyTuple_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "legs must be a tuple");
        return -1;
    }
    Py_SETREF(self->legs, Py_NewRef(value));
    return 0;
}

static PyObject *Intake_get_media_ssrc(Intake *self, void *closure) {
    if (!self->has_ssrc)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(self->media_ssrc);
}

static PyObject *Intake_get_base_seq(Intake *self, void *closure) {
    if (!self->has_base)
        Py_RETURN_NONE;
    return PyLong_FromLong(self->base_seq);
}

static PyObject *Intake_get_rtx_payload_type(Intake *self, void *closure) {
    if (self->rtx_payload_type < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(self->rtx_payload_type);
}

static PyMemberDef Intake_members[] = {
    {"owner", T_OBJECT, offsetof(Intake, owner), READONLY, NULL},
    {"payload_type", T_INT, offsetof(Intake, payload_type), READONLY, NULL},
    {"codec", T_INT, offsetof(Intake, codec), READONLY, NULL},
    {"paused", T_BOOL, offsetof(Intake, paused), 0, NULL},
    {"packets", T_LONGLONG, offsetof(Intake, packets), READONLY, NULL},
    {"keyframes", T_LONGLONG, offsetof(Intake, keyframes), READONLY, NULL},
    {"recovered", T_LONGLONG, offsetof(Intake, recovered), READONLY, NULL},
    {"nacked", T_LONGLONG, offsetof(Intake, nacked), READONLY, NULL},
    {"max_seq", T_INT, offsetof(Intake, max_seq), READONLY, NULL},
    {"cycles", T_LONGLONG, offsetof(Intake, cycles), READONLY, NULL},
    {"received", T_LONGLONG, offsetof(Intake, received), READONLY, NULL},
    {NULL}
};

static PyGetSetDef Intake_getset[] = {
    {"legs", (getter)Intake_get_legs, (setter)Intake_set_legs, NULL, NULL},
    {"media_ssrc", (getter)Intake_get_media_ssrc, NULL, NULL, NULL},
    {"base_seq", (getter)Intake_get_base_seq, NULL, NULL, NULL},
    {"rtx_payload_type", (getter)Intake_get_rtx_payload_type, NULL, NULL, NULL},
    {NULL}
};

static PyMethodDef Intake_methods[] = {
    {"receive", (PyCFunction)(void (*)(void))Intake_receive, METH_FASTCALL,
     "receive(view, now): forward one plain RTP packet of this track."},
    {NULL}
};

static PyTypeObject IntakeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vidzzle_media.sfu._fastpath.Intake",
    .tp_doc = "One incoming track's per-packet state (compiled; see intake.Intake).",
    .tp_basicsize = sizeof(Intake),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Intake_init,
    .tp_dealloc = (destructor)Intake_dealloc,
    .tp_traverse = (traverseproc)Intake_traverse,
    .tp_clear = (inquiry)Intake_clear,
    .tp_members = Intake_members,
    .tp_getset = Intake_getset,
    .tp_methods = Intake_methods,
};

typedef struct {
    PyObject_HEAD
    PyObject *by_pt;        /* payload type -> Intake */
    PyObject *drop;
    char has_last;
    double last_media_at;
} Demux;

static int Demux_init(Demux *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"drop", NULL};
    PyObject *drop;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &drop))
        return -1;
    Py_XSETREF(self->drop, Py_NewRef(drop));
    Py_XSETREF(self->by_pt, PyDict_New());
    self->has_last = 0;
    return self->by_pt == NULL ? -1 : 0;
}

static int Demux_traverse(Demux *self, visitproc visit, void *arg) {
    Py_VISIT(self->by_pt);
    Py_VISIT(self->drop);
    return 0;
}

static int Demux_clear(Demux *self) {
    Py_CLEAR(self->by_pt);
    Py_CLEAR(self->drop);
    return 0;
}

static void Demux_dealloc(Demux *self) {
    PyObject_GC_UnTrack(self);
    Demux_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* intake.Demux.__call__ */
static PyObject *Demux_call(Demux *self, PyObject *args, PyObject *kwds) {
    PyObject *data;
    if (!PyArg_ParseTuple(args, "O", &data))
        return NULL;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);     /* time.monotonic()'s clock */
    double now = (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
    self->has_last = 1;
    self->last_media_at = now;
    View *view = (View *)PyType_GenericNew(&ViewType, NULL, NULL);
    if (view == NULL)
        return NULL;
    if (parse_view(view, data) < 0) {
        Py_DECREF(view);
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return NULL;
        PyErr_Clear();      /* authenticated, but malformed: never forwarded */
        return PyObject_CallOneArg(self->drop, str_malformed_rtp);
    }
    PyObject *key = PyLong_FromLong(view->payload_type);
    PyObject *intake = key == NULL ? NULL : PyDict_GetItemWithError(self->by_pt, key);
    Py_XDECREF(key);
    int rc = 0;
    if (intake == NULL) {
        rc = PyErr_Occurred() ? -1 : 0;
    } else if (Py_IS_TYPE(intake, &IntakeType)) {
        Py_INCREF(intake);
        rc = intake_receive((Intake *)intake, view, now);
        Py_DECREF(intake);
    } else {
        PyObject *r = PyObject_CallMethod(intake, "receive", "Od", (PyObject *)view, now);
        Py_XDECREF(r);
        rc = r == NULL ? -1 : 0;
    }
    Py_DECREF(view);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Demux_get_last(Demux *self, void *closure) {
    if (!self->has_last)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(self->last_media_at);
}

static PyMemberDef Demux_members[] = {
    {"by_pt", T_OBJECT, offsetof(Demux, by_pt), READONLY, "payload type (main and RTX) -> the track's Intake"},
    {"drop", T_OBJECT, offsetof(Demux, drop), READONLY, NULL},
    {NULL}
};

static PyGetSetDef Demux_getset[] = {
    {"last_media_at", (getter)Demux_get_last, NULL, "monotonic time of the last authentic packet", NULL},
    {NULL}
};

static PyTypeObject DemuxType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vidzzle_media.sfu._fastpath.Demux",
    .tp_doc = "A participant's incoming plain RTP to its tracks (compiled; see intake.Demux).",
    .tp_basicsize = sizeof(Demux),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Demux_init,
    .tp_dealloc = (destructor)Demux_dealloc,
    .tp_traverse = (traverseproc)Demux_traverse,
    .tp_clear = (inquiry)Demux_clear,
    .tp_call = (ternaryfunc)Demux_call,
    .tp_members = Demux_members,
    .tp_getset = Demux_getset,
};

static PyObject *set_protect(PyObject *module, PyObject *arg) {
    void *p = PyLong_AsVoidPtr(arg);
    if (p == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "srtp_protect address is NULL");
        return NULL;
    }
    srtp_protect_fn = (protect_fn)p;
    Py_RETURN_NONE;
}

static PyObject *set_unprotect(PyObject *module, PyObject *arg) {
    void *p = PyLong_AsVoidPtr(arg);
    if (p == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "srtp_unprotect address is NULL");
        return NULL;
    }
    srtp_unprotect_fn = (protect_fn)p;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"fanout", (PyCFunction)(void (*)(void))fanout, METH_FASTCALL,
     "fanout(view, legs) -> list of (leg, verdict) or None: forward one packet on every leg."},
    {"set_protect", set_protect, METH_O,
     "Use libsrtp's srtp_protect at this address (pylibsrtp's binding)."},
    {"set_unprotect", set_unprotect, METH_O,
     "Use libsrtp's srtp_unprotect at this address (pylibsrtp's binding)."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_fastpath", "The compiled forwarding core (see leg.py).", -1, module_methods,
};

#define INTERN(var, text) if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL

PyMODINIT_FUNC PyInit__fastpath(void) {
    INTERN(str_target, "target");
    INTERN(str_send_datagram, "send_datagram");
    INTERN(str_congested, "congested");
    INTERN(str_state, "_state");
    INTERN(str_tx_srtp, "_tx_srtp");
    INTERN(str_data, "data");
    INTERN(str_seq, "seq");
    INTERN(str_timestamp, "timestamp");
    INTERN(str_ssrc, "ssrc");
    INTERN(str_marker, "marker");
    INTERN(str_payload_start, "payload_start");
    INTERN(str_payload_end, "payload_end");
    INTERN(str_keyframe_start, "keyframe_start");
    INTERN(str_rx_srtp, "_rx_srtp");
    INTERN(str_unauthenticated, "unauthenticated_rtp");
    INTERN(str_owner, "owner");
    INTERN(str_on_verdict, "on_verdict");
    INTERN(str_on_new_source, "_on_new_source");
    INTERN(str_on_nack, "_on_nack");
    INTERN(str_on_malformed, "_on_malformed");
    INTERN(str_malformed_rtp, "malformed_rtp");
    if ((int_one = PyLong_FromLong(1)) == NULL)
        return NULL;
    PyObject *random = PyImport_ImportModule("random");
    if (random == NULL)
        return NULL;
    randint = PyObject_GetAttrString(random, "randint");
    Py_DECREF(random);
    if (randint == NULL)
        return NULL;
    if (PyType_Ready(&LegType) < 0 || PyType_Ready(&ViewType) < 0 || PyType_Ready(&ReceiverType) < 0 ||
            PyType_Ready(&IntakeType) < 0 || PyType_Ready(&DemuxType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Leg", (PyObject *)&LegType) < 0 ||
        PyModule_AddObjectRef(m, "View", (PyObject *)&ViewType) < 0 ||
        PyModule_AddObjectRef(m, "Receiver", (PyObject *)&ReceiverType) < 0 ||
        PyModule_AddObjectRef(m, "Intake", (PyObject *)&IntakeType) < 0 ||
        PyModule_AddObjectRef(m, "Demux", (PyObject *)&DemuxType) < 0 ||
        PyModule_AddIntConstant(m, "HISTORY_SIZE", HISTORY_SIZE) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PLAIN", MAX_PLAIN) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
