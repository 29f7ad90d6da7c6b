// What cloudfront-js-2.0 gives a function and bare V8 lacks, with the documented interfaces:
//   crypto.createHash('sha256').update(text).digest('hex')       (the crypto module)
//   Buffer.from(text, 'base64').toString()                       (the Buffer module)
//   cf.kvs().get(key): a promise of the value; rejects for a missing key (the cloudfront module)
// Node runs the function with its own crypto and Buffer and only `cf` from here; the tests
// check these stand-ins against Python's hashlib and base64.
var KVS_ENTRIES = {};
var charCode = Function.prototype.call.bind(String.prototype.charCodeAt);

var cf = {
    kvs: function () {
        return {
            get: async function (key) {
                if (!Object.prototype.hasOwnProperty.call(KVS_ENTRIES, key)) {
                    throw new Error('KeyNotFound: ' + key);
                }
                return KVS_ENTRIES[key];
            },
        };
    },
};

function utf8Bytes(text) {
    var binary = unescape(encodeURIComponent(text));
    var bytes = [];
    for (var i = 0; i < binary.length; i++) {
        bytes.push(charCode(binary, i));
    }
    return bytes;
}

var SHA256_K = [];
(function () {
    var found = 0;
    for (var n = 2; found < 64; n++) {
        var prime = true;
        for (var d = 2; d * d <= n; d++) {
            if (n % d === 0) {
                prime = false;
                break;
            }
        }
        if (prime) {
            SHA256_K.push((Math.cbrt(n) % 1) * 4294967296 | 0);
            found++;
        }
    }
})();

function sha256Hex(bytes) {
    var h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var bits = bytes.length * 8;
    var padded = bytes.concat([0x80]);
    while (padded.length % 64 !== 56) {
        padded.push(0);
    }
    for (var shift = 56; shift >= 0; shift -= 8) {
        padded.push(shift >= 32 ? Math.floor(bits / 2 ** shift) & 0xff : (bits >>> shift) & 0xff);
    }
    var rotr = function (x, r) { return (x >>> r) | (x << (32 - r)); };
    for (var block = 0; block < padded.length; block += 64) {
        var w = [];
        for (var t = 0; t < 64; t++) {
            if (t < 16) {
                var j = block + t * 4;
                w[t] = (padded[j] << 24) | (padded[j + 1] << 16) | (padded[j + 2] << 8) | padded[j + 3];
            } else {
                var s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
                var s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
                w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
            }
        }
        var a = h.slice();
        for (var r = 0; r < 64; r++) {
            var e = a[4];
            var t1 = (a[7] + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & a[5]) ^ (~e & a[6]))
                + SHA256_K[r] + w[r]) | 0;
            var t2 = ((rotr(a[0], 2) ^ rotr(a[0], 13) ^ rotr(a[0], 22))
                + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]))) | 0;
            a = [(t1 + t2) | 0, a[0], a[1], a[2], (a[3] + t1) | 0, a[4], a[5], a[6]];
        }
        for (var k = 0; k < 8; k++) {
            h[k] = (h[k] + a[k]) | 0;
        }
    }
    return h.map(function (x) { return ('0000000' + (x >>> 0).toString(16)).slice(-8); }).join('');
}

var crypto = {
    createHash: function (algorithm) {
        if (algorithm !== 'sha256') {
            throw new Error('stand-in hashes sha256 only, not ' + algorithm);
        }
        var bytes = [];
        return {
            update: function (text) {
                bytes = bytes.concat(utf8Bytes(text));
                return this;
            },
            digest: function (encoding) {
                if (encoding !== 'hex') {
                    throw new Error('stand-in digests to hex only');
                }
                return sha256Hex(bytes);
            },
        };
    },
};

var BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// Node's decoder: stops at '=', skips characters outside the alphabet, drops partial bytes.
var Buffer = {
    from: function (text, encoding) {
        if (encoding !== 'base64') {
            throw new Error('stand-in decodes base64 only');
        }
        var bits = 0;
        var count = 0;
        var binary = '';
        for (var i = 0; i < text.length && text[i] !== '='; i++) {
            var value = BASE64_ALPHABET.indexOf(text[i]);
            if (value === -1) {
                continue;
            }
            bits = (bits << 6) | value;
            count += 6;
            if (count >= 8) {
                count -= 8;
                binary += String.fromCharCode((bits >>> count) & 0xff);
            }
        }
        return {
            toString: function () {
                try {
                    return decodeURIComponent(escape(binary));
                } catch (e) {
                    return binary.replace(/[\x80-\xff]/g, '\ufffd');
                }
            },
        };
    },
};
