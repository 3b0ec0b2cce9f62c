"""Decrypt (and verify) PGP-encrypted bank files without a ``gpg`` binary.

The Lambda runtime has no ``gpg``, so this module uses OpenPGP libraries shipped as wheels
(manylinux x86_64 and aarch64, no system libraries):

* **pysequoia** (Sequoia-PGP, Rust) does all decryption, and checks signatures. It streams:
  the plaintext goes straight to a file and private memory (RssAnon) stays at ~150-200 MiB
  whether the message is 100 MB, 1 GB or 3 GB, where the pure-Python ``pgpy`` needed 4.1 GiB
  for 1 GB and ``rpgp-py`` refuses messages over 1 GiB. Sequoia memory-maps a regular input
  file, so those pages also show as (file-backed, reclaimable) RSS. It holds the GIL while it
  decrypts, so other Python threads pause meanwhile.
* **rpgp-py** (rPGP, Rust) only checks signatures pysequoia cannot: 0.1.35 rejects the
  layering ``encrypted > compressed > signed`` ("Unexpected message structure"), which is what
  ``gpg --sign --encrypt`` writes by default. rPGP works in memory, so that path is capped
  (:data:`DEFAULT_MAX_VERIFY_IN_MEMORY`, checked against the plaintext Sequoia already wrote,
  which also defuses compression bombs); over the cap the signature is refused as
  unverifiable, never trusted. Both libraries must agree on the plaintext (SHA-256).

Licences: pysequoia is Apache-2.0 and embeds Sequoia (LGPL-2.0-or-later) in its extension
module. bankgate only imports that module at run time, and a user can replace it with any
other build (it is a separate ``.so`` installed by pip): the LGPL's terms for a dynamically
linked library. rpgp-py is MIT, rPGP MIT or Apache-2.0. No GPL or AGPL code is involved.

Usage::

    keys = KeyRing.from_armored(secret_text, passphrase=secret_passphrase)  # once, at cold start
    signers = PublicKeys.from_armored(bank_public_key_text)
    result = decrypt(path, keys=keys, out=scratch / "payroll.ach", verify_with=signers)

Every failure caused by the message or the keys raises :class:`PgpError` (or a subclass);
nothing else escapes for malformed input. No message, log line or ``repr`` ever contains
secret key material or a passphrase.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pysequoia
from pysequoia.packet import PacketPile, Tag

from bankgate.streams import sha256_of

__all__ = [
    "DEFAULT_MAX_VERIFY_IN_MEMORY",
    "BadSignature",
    "CorruptMessage",
    "DecryptResult",
    "KeyRing",
    "NoMatchingKey",
    "PgpError",
    "PublicKeys",
    "UnverifiableSignature",
    "decrypt",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_VERIFY_IN_MEMORY = 256 * 1024 * 1024
"""Largest plaintext whose signature may be verified by the in-memory fallback (rPGP)."""

_HEAD_BYTES = 64 * 1024  # enough for any realistic run of session-key packets
_COPY_CHUNK = 1024 * 1024
_WILDCARD = "0000000000000000"
_ARMOR_BLOCK = re.compile(
    rb"-----BEGIN PGP (PRIVATE KEY BLOCK|PUBLIC KEY BLOCK|SECRET KEY BLOCK)-----.*?-----END PGP \1-----",
    re.DOTALL,
)
_MESSAGE_ARMOR = re.compile(rb"^\s*-----BEGIN PGP (MESSAGE|SIGNED MESSAGE)-----")
_PRIMARY_TAGS = (Tag.SecretKey, Tag.PublicKey)
_SUBKEY_TAGS = (Tag.SecretSubkey, Tag.PublicSubkey)


# -- errors -----------------------------------------------------------------------------------


class PgpError(Exception):
    """The message or the keys cannot be used; ``reason`` says why in words an operator can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoMatchingKey(PgpError):
    """None of our secret keys opens the message. ``recipients`` are the key ids it was encrypted to."""

    def __init__(self, reason: str, *, recipients: tuple[str, ...] = (), available: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.recipients = recipients
        self.available = available


class BadSignature(PgpError):
    """The message is signed, but not validly by any of the keys we trust."""

    def __init__(self, reason: str, *, signer_key_ids: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.signer_key_ids = signer_key_ids


class UnverifiableSignature(BadSignature):
    """The message is signed, but its signature could not be checked here (size cap, missing library).

    A subclass of :class:`BadSignature` so that a caller that quarantines bad signatures also
    refuses these: an unchecked signature must never pass as a checked one.
    """


class CorruptMessage(PgpError):
    """Not a readable OpenPGP message: truncated, tampered with, or not OpenPGP at all."""


# -- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Decryptor:
    key_id: str  # the encryption (sub)key's id, lowercase hex: what a message names
    fingerprint: str  # the certificate's primary fingerprint: what an operator configures
    handle: Any = field(repr=False)  # an unlocked pysequoia PyDecryptor


@dataclass(frozen=True, slots=True)
class _SecretCert:
    fingerprint: str
    decryptors: tuple[_Decryptor, ...]
    # Kept only for the in-memory verification fallback, which must decrypt again with rPGP.
    secret: bytes = field(repr=False)
    passphrase: str | None = field(repr=False)


class KeyRing:
    """Our secret keys, unlocked once at load time so a wrong passphrase fails at cold start.

    Holds any number of keys; :func:`decrypt` tries every encryption subkey of every key (those
    the message names first), so a key rotation is just "put the old and the new key in the
    secret". Rings with different passphrases combine with ``+``.
    """

    __slots__ = ("_certs",)

    def __init__(self, certs: Iterable[_SecretCert] = ()) -> None:
        self._certs: tuple[_SecretCert, ...] = tuple(certs)

    @classmethod
    def from_armored(cls, text: str | bytes, passphrase: str | None = None) -> KeyRing:
        """Load every secret key in ``text`` (armored or binary, one or many blocks).

        ``text`` is what a secret store returns: AWS Secrets Manager, GCP Secret Manager, an
        environment variable (where newlines are often written as ``\\n``) or a file.
        ``passphrase`` unlocks all of them; ignored for keys that are not protected.
        """
        certs = []
        for packets in _split_certs(_key_blobs(text), what="secret key"):
            certs.append(_load_secret_cert(packets, passphrase))
        if not certs:
            raise PgpError("no OpenPGP secret key found in the configured key material")
        return cls(certs)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], passphrase: str | None = None) -> KeyRing:
        """:meth:`from_armored` on a file's content."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise PgpError(f"cannot read key file {os.fspath(path)!r}: {exc.strerror}") from None
        return cls.from_armored(data, passphrase)

    def __add__(self, other: KeyRing) -> KeyRing:
        if not isinstance(other, KeyRing):
            return NotImplemented
        return KeyRing(self._certs + other._certs)

    def __len__(self) -> int:
        return len(self._certs)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Primary fingerprints of the loaded keys (public information, safe to log)."""
        return tuple(c.fingerprint for c in self._certs)

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of every usable encryption (sub)key, as messages name them."""
        return tuple(d.key_id for c in self._certs for d in c.decryptors)

    def __repr__(self) -> str:
        return f"KeyRing({', '.join(self.fingerprints)})"

    def _ordered(self, recipients: Sequence[str]) -> list[tuple[_SecretCert, _Decryptor]]:
        """Every decryptor, those the message is addressed to first (the rest still try: wildcards)."""
        wanted = set(recipients)
        pairs = [(c, d) for c in self._certs for d in c.decryptors]
        return sorted(pairs, key=lambda pair: pair[1].key_id not in wanted)


class PublicKeys:
    """Certificates of the parties whose signatures we accept (a bank's signing key)."""

    __slots__ = ("_certs",)

    def __init__(self, certs: Iterable[Any] = ()) -> None:
        self._certs: tuple[Any, ...] = tuple(certs)  # pysequoia Cert objects

    @classmethod
    def from_armored(cls, text: str | bytes) -> PublicKeys:
        """Load every certificate in ``text`` (armored or binary); secret parts are dropped."""
        certs = []
        for packets in _split_certs(_key_blobs(text), what="public key"):
            try:
                cert = pysequoia.Cert.from_packets(packets)
                # Round-trip through bytes: a Cert serialises without secret key material.
                certs.append(pysequoia.Cert.from_bytes(bytes(cert)))
            except Exception as exc:
                raise PgpError(f"a configured public key cannot be used: {_first_line(exc)}") from None
        if not certs:
            raise PgpError("no OpenPGP public key found in the configured key material")
        return cls(certs)

    @classmethod
    def coerce(cls, keys: PublicKeys | str | bytes | Sequence[str | bytes]) -> PublicKeys:
        """Accept a :class:`PublicKeys` or armored text(s), so callers may pass config values as is."""
        if isinstance(keys, PublicKeys):
            return keys
        if isinstance(keys, str | bytes):
            return cls.from_armored(keys)
        certs: list[Any] = []
        for item in keys:
            certs.extend(cls.coerce(item)._certs)
        return cls(certs)

    @property
    def fingerprints(self) -> tuple[str, ...]:
        return tuple(c.fingerprint for c in self._certs)

    def __len__(self) -> int:
        return len(self._certs)

    def __repr__(self) -> str:
        return f"PublicKeys({', '.join(self.fingerprints)})"


def _key_blobs(text: str | bytes) -> list[bytes]:
    """Split key material into armor blocks (or one binary blob), undoing env-var escaping."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
    if b"-----BEGIN PGP" in data:
        if b"\n" not in data and b"\\n" in data:  # a one-line env var or JSON value
            data = data.replace(b"\\r\\n", b"\n").replace(b"\\n", b"\n")
        blocks = [m.group(0) for m in _ARMOR_BLOCK.finditer(data)]
        if not blocks:
            raise PgpError("key material has an armor header but no complete key block")
        return blocks
    if not data.strip():
        raise PgpError("key material is empty")
    return [data]


def _split_certs(blobs: Iterable[bytes], *, what: str) -> Iterator[list[Any]]:
    """Yield each certificate's packets; one armor block may hold several certificates."""
    for blob in blobs:
        try:
            packets = list(PacketPile.from_bytes(blob))
        except Exception as exc:
            raise PgpError(f"{what} material cannot be parsed: {_first_line(exc)}") from None
        current: list[Any] = []
        for packet in packets:
            if packet.tag in _PRIMARY_TAGS and current:
                yield current
                current = []
            current.append(packet)
        if current:
            if current[0].tag not in _PRIMARY_TAGS:
                raise PgpError(f"{what} material does not start with a key packet")
            yield current


def _load_secret_cert(packets: list[Any], passphrase: str | None) -> _SecretCert:
    """Unlock each encryption-capable (sub)key of one certificate.

    pysequoia's ``Tsk.decryptor()`` picks only the *first* valid encryption subkey, so a key
    whose owner added a new encryption subkey (rotation inside one certificate) is split into
    one certificate per subkey, and each is unlocked on its own.
    """
    primary = packets[0]
    fingerprint = (primary.fingerprint or "").lower()
    if primary.tag != Tag.SecretKey:
        raise PgpError(f"key {fingerprint} is a public key; decryption needs the secret key")
    head: list[Any] = []
    groups: list[list[Any]] = []
    for packet in packets:
        if packet.tag in _SUBKEY_TAGS:
            groups.append([packet])
        elif groups:
            groups[-1].append(packet)
        else:
            head.append(packet)
    variants = [(head, primary)] + [(head + g, g[0]) for g in groups if g[0].tag == Tag.SecretSubkey]
    decryptors = []
    for variant, key_packet in variants:
        handle = _unlock(variant, passphrase, fingerprint)
        if handle is not None:
            decryptors.append(_Decryptor((key_packet.key_id or "").lower(), fingerprint, handle))
    if not decryptors:
        raise PgpError(
            f"key {fingerprint} has no usable encryption key (none for encryption, or all expired or revoked)"
        )
    try:
        secret = bytes(pysequoia.Tsk.from_packets(packets))
    except Exception as exc:
        raise PgpError(f"key {fingerprint} cannot be used: {_first_line(exc)}") from None
    return _SecretCert(fingerprint, tuple(decryptors), secret, passphrase)


def _unlock(packets: list[Any], passphrase: str | None, fingerprint: str) -> Any:
    """A decryptor for this variant, ``None`` if it has no encryption key; never echoes the passphrase."""
    try:
        tsk = pysequoia.Tsk.from_packets(packets)
    except Exception as exc:
        raise PgpError(f"key {fingerprint} cannot be parsed: {_first_line(exc)}") from None
    attempts = [passphrase, None] if passphrase is not None else [None]
    problem = ""
    for attempt in attempts:
        try:
            return tsk.decryptor(attempt)
        except Exception as exc:
            text = _first_line(exc)
            if "No suitable decryption subkey" in text:
                return None
            problem = problem or text
            if "not encrypted" in text:  # a passphrase was given for an unprotected key: retry without
                continue
            break
    if passphrase is None and "encrypted" in problem:
        raise PgpError(f"key {fingerprint} is passphrase-protected, and no passphrase was configured")
    raise PgpError(f"key {fingerprint} could not be unlocked: wrong passphrase or damaged key")


# -- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecryptResult:
    """What :func:`decrypt` found; all key ids and fingerprints are lowercase hex.

    ``signed`` is ``None`` when no ``verify_with`` keys were given: Sequoia only looks at
    signatures when asked to check them, and finding out otherwise would cost a second pass.
    """

    bytes_out: int
    signed: bool | None
    signature_valid: bool | None  # True: checked and good; None: unsigned or not checked
    signer: str | None  # primary fingerprint of the verified signer
    signer_key_ids: tuple[str, ...] = ()  # issuers the signatures name (known when verify_with is given)
    decrypted_with: str | None = None  # key id of our key that opened it (None: it was not encrypted)
    recipients: tuple[str, ...] = ()  # key ids the message was encrypted to


@dataclass(frozen=True, slots=True)
class _Header:
    recipients: tuple[str, ...]  # key ids from the PKESK packets (wildcard for anonymous ones)
    passphrase_only: bool  # encrypted to a passphrase (SKESK) and to no key
    plain: bool  # signed or literal data, not encrypted at all
    armored: bool


@dataclass(frozen=True, slots=True)
class _Checked:
    signed: bool | None
    signer: str | None
    signer_ids: tuple[str, ...]


class _RecordingStore:
    """Sequoia's certificate-store callback: hands over the trusted certs, remembers who was asked for.

    Sequoia asks once the signed data has been read, with the issuers the signatures name, and
    with an empty list for an unsigned message: that is how an unsigned message is told apart
    from a badly signed one when Sequoia rejects both with the same error.
    """

    __slots__ = ("certs", "ids")

    def __init__(self, certs: Sequence[Any]) -> None:
        self.certs = list(certs)
        self.ids: tuple[str, ...] | None = None

    def __call__(self, ids: list[str]) -> list[Any]:
        self.ids = tuple(str(i).lower() for i in ids)
        return self.certs


def decrypt(
    source: BinaryIO | str | os.PathLike[str],
    *,
    keys: KeyRing,
    out: BinaryIO | str | os.PathLike[str],
    verify_with: PublicKeys | str | bytes | Sequence[str | bytes] | None = None,
    require_signature: bool = False,
    scratch_dir: str | os.PathLike[str] | None = None,
    max_verify_in_memory: int = DEFAULT_MAX_VERIFY_IN_MEMORY,
) -> DecryptResult:
    """Decrypt ``source`` into ``out``, checking the signature against ``verify_with`` when signed.

    ``source`` is a path or a binary stream (spooled to ``scratch_dir`` first: Sequoia reads
    files). ``out`` is a path, written via a temporary file beside it and renamed, so it never
    holds a partial plaintext, or a binary stream, filled from a temporary file in
    ``scratch_dir`` once everything checked out. Nothing of the plaintext is kept in memory.

    Signatures: with ``verify_with`` a signed message must carry a valid signature by one of
    those keys (else :class:`BadSignature`); an unsigned one passes with ``signed=False``
    unless ``require_signature``. Without ``verify_with`` signatures are not looked at.
    """
    if not isinstance(keys, KeyRing):
        raise TypeError("keys must be a KeyRing")
    signers = PublicKeys.coerce(verify_with) if verify_with is not None else None
    if require_signature and signers is None:
        raise PgpError("require_signature needs verify_with: there is no key to check the signature against")
    out_path = None if _is_stream(out) else Path(os.fspath(out))  # type: ignore[arg-type]
    scratch = Path(scratch_dir) if scratch_dir is not None else (out_path.parent if out_path else None)
    if scratch is None:
        raise PgpError("scratch_dir is required when out is a stream")
    cleanup: list[Path] = []
    try:
        src = _source_file(source, scratch, cleanup)
        header = _scan_header(src)
        tmp = (out_path.parent if out_path else scratch) / f".pgp-out-{uuid.uuid4().hex}.part"
        cleanup.append(tmp)
        checked, dec = _with_first_fitting_key(keys, src, tmp, signers, header, require_signature, max_verify_in_memory)
        size = _deliver(tmp, out_path, out, cleanup)
        return DecryptResult(
            bytes_out=size,
            signed=checked.signed,
            signature_valid=True if checked.signer else None,
            signer=checked.signer,
            signer_key_ids=checked.signer_ids,
            decrypted_with=None if header.plain else dec.key_id,
            recipients=header.recipients,
        )
    finally:
        for path in cleanup:
            path.unlink(missing_ok=True)


def _with_first_fitting_key(
    keys: KeyRing,
    src: Path,
    tmp: Path,
    signers: PublicKeys | None,
    header: _Header,
    require_signature: bool,
    max_verify_in_memory: int,
) -> tuple[_Checked, _Decryptor]:
    """Decrypt into ``tmp`` with the first of ``keys`` that fits the message (and that key)."""
    for cert, dec in keys._ordered(header.recipients):
        try:  # a key that does not fit fails on the session key, before any plaintext is written
            return _decrypt_with(src, tmp, cert, dec, signers, header, require_signature, max_verify_in_memory), dec
        except _NoKey:
            continue
    raise _no_matching_key(keys, header)


def _source_file(source: BinaryIO | str | os.PathLike[str], scratch: Path, cleanup: list[Path]) -> Path:
    """The ciphertext as a file (Sequoia reads files): a path as it is, a stream spooled into
    ``scratch`` (noted in ``cleanup``)."""
    if _is_stream(source):
        src = scratch / f".pgp-in-{uuid.uuid4().hex}"
        cleanup.append(src)
        _spool(source, src)  # type: ignore[arg-type]
        return src
    src = Path(os.fspath(source))  # type: ignore[arg-type]
    if not src.is_file():
        raise PgpError(f"no such file: {src.name}")
    return src


def _deliver(tmp: Path, out_path: Path | None, out: BinaryIO | str | os.PathLike[str], cleanup: list[Path]) -> int:
    """The checked plaintext in ``tmp`` to its destination: renamed onto ``out_path``, or copied
    into the stream ``out``. Returns its size."""
    size = tmp.stat().st_size
    if out_path is not None:
        os.replace(tmp, out_path)
        cleanup.remove(tmp)
    else:
        with tmp.open("rb") as f:
            shutil.copyfileobj(f, out, _COPY_CHUNK)  # type: ignore[arg-type]
    return size


def _decrypt_with(
    src: Path,
    tmp: Path,
    cert: _SecretCert,
    dec: _Decryptor,
    signers: PublicKeys | None,
    header: _Header,
    require_signature: bool,
    max_verify_in_memory: int,
) -> _Checked:
    """One key's attempt: a single streaming pass in the common cases.

    Signed and good, or signed and bad: one pass. Unsigned while keys to check were given:
    Sequoia rejects it at the end like a bad signature, so a second pass decrypts it unchecked.
    Signed inside a compressed layer (pysequoia cannot check that): a second, unchecked pass,
    then rPGP checks the signature in memory.
    """
    if signers is None:
        _sequoia(src, tmp, dec.handle, None)
        return _Checked(None, None, ())
    store = _RecordingStore(signers._certs)
    try:
        result = _sequoia(src, tmp, dec.handle, store)
    except (_Unstructured, _Unsigned) as exc:
        ids = store.ids or ()
        if not ids:  # not signed at all
            if require_signature:
                raise BadSignature("the message is not signed, and a signature is required") from None
            _sequoia(src, tmp, dec.handle, None)
            return _Checked(False, None, ())
        if isinstance(exc, _Unsigned):  # signed, but by none of the trusted keys
            raise _bad_signature(ids, signers) from None
        # encrypted > compressed > signed: decrypt without checking (streaming), then check in memory.
        _sequoia(src, tmp, dec.handle, None)
        signer = _verify_in_memory(src, tmp, cert, signers, ids, header, max_verify_in_memory)
        return _Checked(True, signer, ids)
    sigs = result.valid_sigs
    if not sigs:  # pragma: no cover - Sequoia raises instead
        raise _bad_signature(store.ids or (), signers)
    return _Checked(True, str(sigs[0].certificate).lower(), store.ids or ())


def _no_matching_key(keys: KeyRing, header: _Header) -> NoMatchingKey:
    if header.passphrase_only:
        return NoMatchingKey("the message is encrypted with a passphrase, not to a key", available=keys.key_ids)
    shown = ", ".join(header.recipients) or "unknown (no readable recipient)"
    return NoMatchingKey(
        f"no configured key opens the message: it is encrypted to {shown}; configured keys: {', '.join(keys.key_ids)}",
        recipients=header.recipients,
        available=keys.key_ids,
    )


def _verify_in_memory(
    src: Path,
    plaintext: Path,
    cert: _SecretCert,
    signers: PublicKeys,
    signer_ids: tuple[str, ...],
    header: _Header,
    cap: int,
) -> str:
    size = max(plaintext.stat().st_size, src.stat().st_size)
    if size > cap:
        raise UnverifiableSignature(
            f"the signature is inside a compressed layer, which is checked in memory, and the message "
            f"({size} bytes) is over the {cap}-byte limit for that: raise max_verify_in_memory or run it "
            f"on the batch runner",
            signer_key_ids=signer_ids,
        )
    try:
        from openpgp.composed import Message, SignedPublicKey, SignedSecretKey
    except ImportError:  # pragma: no cover - installed with the pgp extra
        raise UnverifiableSignature(
            "the signature is inside a compressed layer and needs rpgp-py to be checked (pip install bankgate[pgp])",
            signer_key_ids=signer_ids,
        ) from None
    log.debug("verifying %s in memory (compressed signed layer)", src.name)
    try:
        message = Message.from_armor_file(str(src))[0] if header.armored else Message.from_file(str(src))
        secret = SignedSecretKey.from_bytes(cert.secret)
        opened = message.decrypt(cert.passphrase or "", secret)
        data = opened.as_data_vec()
        count = opened.signature_count()
    except Exception as exc:
        raise CorruptMessage(f"the message cannot be read for signature checking: {_first_line(exc)}") from None
    if hashlib.sha256(data).digest() != _sha256_file(plaintext):
        raise CorruptMessage("the two OpenPGP implementations disagree on the plaintext")
    del data
    for sequoia_cert in signers._certs:
        try:
            public = SignedPublicKey.from_bytes(bytes(sequoia_cert))
        except Exception:
            continue
        for index in range(count):
            try:
                opened.verify(public, index)
            except Exception:
                continue
            return str(sequoia_cert.fingerprint).lower()
    raise _bad_signature(signer_ids, signers)


def _bad_signature(signer_ids: tuple[str, ...], signers: PublicKeys) -> BadSignature:
    claimed = ", ".join(signer_ids) or "an unnamed key"
    return BadSignature(
        f"the signature does not verify against the configured signer keys: the message claims to be "
        f"signed by {claimed}; trusted: {', '.join(signers.fingerprints)}",
        signer_key_ids=signer_ids,
    )


class _NoKey(Exception):
    """This decryptor does not open the message; the next one may."""


class _Unstructured(Exception):
    """pysequoia cannot check a signature in this message layout."""


class _Unsigned(Exception):
    """Sequoia found no valid signature: unsigned, or signed by no trusted key (the store knows which)."""


def _sequoia(src: Path, dst: Path, handle: Any, store: Any) -> Any:
    """One pysequoia ``decrypt_file`` call, with its errors turned into ours.

    Sequoia reports errors as RuntimeError/OSError whose text may carry a Rust backtrace
    (RUST_BACKTRACE): only the first line is kept. A Rust panic surfaces as pyo3's
    ``PanicException`` (a BaseException); malformed input must not escape as that either.
    """
    try:
        return pysequoia.decrypt_file(str(src), str(dst), decryptor=handle, store=store)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit | MemoryError):
            raise
        text = _first_line(exc)
        if "No key to decrypt message" in text:
            raise _NoKey() from None
        if "Unexpected message structure" in text:
            raise _Unstructured() from None
        if "Signature verification failed" in text or "No signature" in text:
            raise _Unsigned() from None
        if "No space left" in text or "Failed to create output" in text or "Failed to open input" in text:
            raise PgpError(f"cannot write the plaintext: {text}") from None
        raise CorruptMessage(f"the message is damaged or not OpenPGP: {text}") from None


def _scan_header(path: Path) -> _Header:
    """Read the session-key packets at the start of a message: whom it is encrypted to.

    Only for the error message and for trying the right key first: Sequoia stays the judge of
    what the message is, so anything unexpected here just yields an empty header.
    """
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    armored = bool(_MESSAGE_ARMOR.match(head))
    data = _dearmor_head(head) if armored else head
    recipients: list[str] = []
    skesk = plain = False
    try:
        for tag, body in _packets(data):
            if tag == 1:  # PKESK
                recipients.append(_pkesk_recipient(body))
            elif tag == 3:  # SKESK
                skesk = True
            elif tag != 10:  # past the session keys (10 is a marker packet)
                # signature, one-pass signature, compressed or literal data first: not encrypted
                plain = not recipients and not skesk and tag in (2, 4, 8, 11)
                break
    except (IndexError, ValueError):
        pass
    return _Header(tuple(dict.fromkeys(recipients)), skesk and not recipients, plain, armored)


def _dearmor_head(head: bytes) -> bytes:
    lines = head.splitlines()
    body: list[bytes] = []
    in_body = False
    for line in lines[1:]:
        line = line.strip()
        if not in_body:
            if not line:
                in_body = True
            elif b":" not in line:  # no armor headers and no blank line: data starts here
                in_body = True
                body.append(line)
            continue
        if line.startswith(b"-----") or (line.startswith(b"=") and len(line) == 5):
            break
        body.append(line)
    joined = b"".join(body)
    joined = joined[: len(joined) // 4 * 4]
    try:
        return base64.b64decode(joined)
    except (binascii.Error, ValueError):
        return b""


def _packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Packets with a fixed length from the head of an OpenPGP stream (stops at the first partial one)."""
    pos = 0
    while pos < len(data):
        ctb = data[pos]
        if not ctb & 0x80:
            raise ValueError("not an OpenPGP packet")
        if ctb & 0x40:  # new format
            tag = ctb & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2 : pos + 6], "big"), pos + 6
            else:  # partial body length: the encrypted data itself
                yield tag, b""
                return
        else:
            tag = (ctb >> 2) & 0x0F
            kind = ctb & 0x03
            if kind == 3:
                yield tag, b""
                return
            size = (1, 2, 4)[kind]
            length, pos = int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size
        body = data[pos : pos + length]
        if len(body) < length and tag in (1, 3):
            raise ValueError("session key packet truncated")
        yield tag, body
        pos += length


def _pkesk_recipient(body: bytes) -> str:
    version = body[0]
    if version == 3:
        return body[1:9].hex()
    if version == 6:
        size = body[1]
        if size == 0:
            return _WILDCARD
        fingerprint = body[3 : 2 + size]
        return (fingerprint[:8] if body[2] == 6 else fingerprint[-8:]).hex()
    raise ValueError("unknown PKESK version")


# -- small helpers ------------------------------------------------------------------------------


def _is_stream(obj: object) -> bool:
    return hasattr(obj, "read") or hasattr(obj, "write")


def _spool(stream: BinaryIO, dst: Path) -> None:
    with dst.open("wb") as f:
        shutil.copyfileobj(stream, f, _COPY_CHUNK)


def _sha256_file(path: Path) -> bytes:
    with path.open("rb") as f:
        return bytes.fromhex(sha256_of(f))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
