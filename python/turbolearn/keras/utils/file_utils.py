"""``get_file``: download a file once into the Keras cache (``~/.keras/datasets``, or
``$KERAS_HOME``), check its hash, and extract tar/zip archives, as Keras 3's ``get_file``."""
import hashlib
import inspect
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

from .progbar import Progbar

__all__ = ["extract_archive", "get_file", "hash_file", "validate_file"]


def keras_home():
    """The cache root: ``$KERAS_HOME``, else ``~/.keras`` (the folder Keras itself uses, so
    files Keras downloaded are found)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    return os.path.join(os.path.expanduser("~"), ".keras")


def _fallback_root():
    """Where the cache goes when cache_dir is not writable (as Keras: /tmp/.keras)."""
    return "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()


def resolve_hasher(algorithm, file_hash=None):
    """sha256 when asked, or for 'auto' with a 64-digit hash; md5 otherwise."""
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "auto" and file_hash is not None and len(file_hash) == 64:
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    hasher = resolve_hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    return str(hash_file(fpath, resolve_hasher(algorithm, file_hash), chunk_size)) == \
        str(file_hash)


def _sub_path(base_dir, name):
    """The resolved path of archive member ``name`` if it stays inside base_dir, else None."""
    target = os.path.realpath(os.path.join(base_dir, name))
    return target if os.path.commonpath([target, base_dir]) == base_dir else None


def _safe_tar_members(archive, base_dir):
    for info in archive:
        ok = _sub_path(base_dir, info.name) is not None
        if ok and info.issym():
            destination = _sub_path(base_dir, info.name)
            ok = _sub_path(base_dir, os.path.join(os.path.dirname(destination),
                                                  info.linkname)) is not None
        elif ok and info.islnk():
            ok = _sub_path(base_dir, info.linkname) is not None
        if ok:
            yield info
        else:
            warnings.warn(f"Skipping invalid path during archive extraction: '{info.name}'.",
                          stacklevel=2)


def _safe_zip_members(archive, base_dir):
    for info in archive.infolist():
        if _sub_path(base_dir, info.filename) is not None:
            yield info
        else:
            warnings.warn("Skipping invalid path during archive extraction: "
                          f"'{info.filename}'.", stacklevel=2)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar (any compression) or zip archive into ``path``; members that would
    land outside it (``../``, absolute paths, links out) are skipped. Returns whether the
    file was an archive of the given format(s)."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else \
        [archive_format] if isinstance(archive_format, str) else list(archive_format)
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind == "tar":
            is_match, opener = tarfile.is_tarfile, tarfile.open
        elif kind == "zip":
            is_match, opener = zipfile.is_zipfile, zipfile.ZipFile
        else:
            raise NotImplementedError(kind)
        if not is_match(file_path):
            continue
        os.makedirs(path, exist_ok=True)
        base = os.path.realpath(path)
        with opener(file_path) as archive:
            try:
                if kind == "zip":
                    archive.extractall(path, members=list(_safe_zip_members(archive, base)))
                else:
                    kwargs = {"filter": "data"} if "filter" in inspect.signature(
                        archive.extractall).parameters else {}
                    archive.extractall(path, members=list(_safe_tar_members(archive, base)),
                                       **kwargs)
            except (tarfile.TarError, RuntimeError, KeyboardInterrupt):
                if os.path.isfile(path):
                    os.remove(path)
                elif os.path.exists(path):
                    shutil.rmtree(path)
                raise
        return True
    return False


class _DownloadProgress:
    def __init__(self):
        self.progbar = None
        self.finished = False

    def __call__(self, block_num, block_size, total_size):
        total = None if total_size == -1 else total_size
        if self.progbar is None:
            self.progbar = Progbar(total)
        current = block_num * block_size
        if total is None:
            self.progbar.update(current)
        elif current < total:
            self.progbar.update(current)
        elif not self.finished:
            self.progbar.update(self.progbar.target)
            self.finished = True


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads ``origin`` into ``cache_dir/cache_subdir/fname`` unless a file is already
    there (and matches ``file_hash``, sha256 or md5), and returns its path; with ``extract``
    (or ``untar``) the archive is extracted and the extraction folder returned.

    A cached file whose hash does not match is downloaded again; a downloaded file whose
    hash does not match is deleted and raises ValueError.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to '
                         "download).")
    if cache_dir is None:
        cache_dir = keras_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(os.fspath(cache_dir))
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join(_fallback_root(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    provided = fname
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: "
                             f"'{origin}'.Please specify the `fname` argument.")
    elif os.sep in fname:
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify "
                         "the file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")

    if extract or untar:
        if provided:
            if "." in fname:
                download_target = os.path.join(datadir, fname)
                fname = fname[:fname.find(".")]
                extraction_dir = os.path.join(datadir, f"{fname}_extracted")
            else:
                extraction_dir = os.path.join(datadir, fname)
                download_target = os.path.join(datadir, f"{fname}_archive")
        else:
            extraction_dir = os.path.join(datadir, fname)
            download_target = os.path.join(datadir, f"{fname}_archive")
    else:
        download_target = os.path.join(datadir, fname)

    if force_download:
        download = True
    elif os.path.exists(download_target):
        download = False
        if file_hash is not None and not validate_file(download_target, file_hash,
                                                       algorithm=hash_algorithm):
            print("A local file was found, but it seems to be incomplete or outdated because "
                  f"the {hash_algorithm} file hash does not match the original value of "
                  f"{file_hash} so we will re-download the data.")
            download = True
    else:
        download = True

    if download:
        print(f"Downloading data from {origin}")
        error_msg = "URL fetch failure on {}: {} -- {}"
        try:
            try:
                urllib.request.urlretrieve(origin, download_target, _DownloadProgress())
            except urllib.error.HTTPError as e:
                raise Exception(error_msg.format(origin, e.code, e.msg)) from e
            except urllib.error.URLError as e:
                raise Exception(error_msg.format(origin, e.errno, e.reason)) from e
        except (Exception, KeyboardInterrupt):
            if os.path.exists(download_target):
                os.remove(download_target)
            raise
        if file_hash is not None and not validate_file(download_target, file_hash,
                                                       algorithm=hash_algorithm):
            os.remove(download_target)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} "
                             f"file hash does not match the provided value of {file_hash}.")

    if extract or untar:
        if untar:
            archive_format = "tar"
        if not extract_archive(download_target, extraction_dir, archive_format):
            warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return download_target
