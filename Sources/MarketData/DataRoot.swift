internal import CLinux

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A folder that data files are opened beneath, never following a symbolic
/// link (or `..`) out of it.
///
/// With `openat2(2)` (Linux ≥ 5.6) the path is resolved by the kernel with
/// `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`: a symbolic link that stays
/// beneath the root is followed; one that leads out of it (an absolute
/// target, or `..` past the root), wherever it is on the way, is refused, as
/// are `/proc`-style magic links. Without `openat2` the path is walked one
/// component at a time with `openat(O_NOFOLLOW)`, and every symbolic link is
/// refused. Either way the answer is an open ``ReadableFile``: what was
/// checked is what is read.
public struct DataRoot: Sendable {
    /// How paths are resolved.
    package enum Resolution: Sendable {
        /// `openat2` when the kernel has it, else ``componentWalk``.
        case automatic
        /// One `openat(O_NOFOLLOW)` per component: every symbolic link is refused.
        case componentWalk
    }

    /// The root folder (itself may be reached through symbolic links).
    public let path: String
    let resolution: Resolution

    /// - Parameter path: the root folder.
    public init(path: String) {
        self.init(path: path, resolution: .automatic)
    }

    package init(path: String, resolution: Resolution) {
        var root = path.isEmpty ? "." : path
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.path = root
        self.resolution = resolution
    }

    /// Opens `relativePath` beneath the root for reading.
    /// The corresponding C functions are `openat2(2)` (through `syscall(2)`)
    /// or `openat(2)`, then `fstat(2)`.
    /// - Parameter relativePath: a path relative to the root (no leading `/`, no `..`).
    /// - Returns: the open file.
    /// - Throws: ``DataRootError`` saying why (missing, not a regular file,
    ///   unreadable, outside the root).
    public func open(_ relativePath: String) throws(DataRootError) -> ReadableFile {
        let components = relativePath.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !relativePath.hasPrefix("/"), !relativePath.utf8.contains(0), !components.isEmpty else {
            throw DataRootError(.invalidPath, path: relativePath, reason: "is not a relative path naming a file")
        }
        if components.contains("..") {
            throw DataRootError(.escapesRoot, path: relativePath, reason: "climbs out with '..'")
        }
        let rootFD = posixOpen(path, sf_o_path | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            throw DataRootError(
                .io, path: relativePath, reason: "cannot be opened: the data root is not accessible (\(String(cString: strerror(errno))))")
        }
        defer { posixClose(rootFD) }
        let fd: Int32
        if resolution == .automatic, let opened = try Self.openBeneath(rootFD, components.joined(separator: "/"), relativePath) {
            fd = opened
        } else {
            fd = try Self.walk(rootFD, components, relativePath)
        }
        switch ReadableFile.adopt(fd) {
        case .success(let file): return file
        case .failure(.directory): throw DataRootError(.notAFile, path: relativePath, reason: "is a directory, not a file")
        case .failure(.notRegular): throw DataRootError(.notAFile, path: relativePath, reason: "is not a regular file")
        case .failure(.failed(let e)):
            throw DataRootError(.io, path: relativePath, reason: "cannot be opened (\(String(cString: strerror(e))))")
        }
    }

    /// `openat2` with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`.
    /// - Returns: the descriptor, or nil when the kernel lacks `openat2` (or a
    ///   sandbox forbids it): walk the components instead.
    private static func openBeneath(_ rootFD: Int32, _ joined: String, _ shown: String) throws(DataRootError) -> Int32? {
        while true {
            let fd = sf_openat2(
                rootFD, joined, UInt64(O_RDONLY | O_CLOEXEC | O_NONBLOCK), 0, sf_resolve_beneath | sf_resolve_no_magiclinks)
            if fd >= 0 { return fd }
            let e = errno
            switch e {
            case EINTR, EAGAIN: continue
            case ENOSYS, EPERM: return nil
            case EXDEV:
                throw DataRootError(.escapesRoot, path: shown, reason: "leads outside the data root through a symbolic link")
            case ELOOP:
                throw DataRootError(.escapesRoot, path: shown, reason: "has a symbolic link loop or a /proc magic link")
            default:
                throw failure(e, shown)
            }
        }
    }

    /// One `openat(O_NOFOLLOW)` per component: a symbolic link anywhere is refused.
    private static func walk(_ rootFD: Int32, _ components: [Substring], _ shown: String) throws(DataRootError) -> Int32 {
        var dirFD = rootFD
        defer { if dirFD != rootFD { posixClose(dirFD) } }
        for (k, component) in components.enumerated() {
            let last = k == components.count - 1
            let flags = last ? O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK : sf_o_path | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW
            let fd = posixOpenAt(dirFD, String(component), flags)
            if fd < 0 {
                let e = errno
                if e == ELOOP || e == ENOTDIR, isSymbolicLink(dirFD, String(component)) {
                    throw DataRootError(
                        .escapesRoot, path: shown,
                        reason:
                            "goes through a symbolic link, '\(components[0...k].joined(separator: "/"))' (refused: this kernel has no openat2)"
                    )
                }
                throw failure(e, shown)
            }
            if last { return fd }
            if dirFD != rootFD { posixClose(dirFD) }
            dirFD = fd
        }
        throw DataRootError(.invalidPath, path: shown, reason: "does not name a file")
    }

    private static func isSymbolicLink(_ dirFD: Int32, _ name: String) -> Bool {
        var info = stat()
        return fstatat(dirFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    private static func failure(_ e: Int32, _ shown: String) -> DataRootError {
        switch e {
        case ENOENT: DataRootError(.notFound, path: shown, reason: "does not exist under the data root")
        case ENOTDIR: DataRootError(.notFound, path: shown, reason: "passes through a file where a folder should be")
        case EACCES, EPERM: DataRootError(.unreadable, path: shown, reason: "cannot be read (permission denied)")
        default: DataRootError(.io, path: shown, reason: "cannot be opened (\(String(cString: strerror(e))))")
        }
    }
}

/// Why ``DataRoot/open(_:)`` refused a path.
public struct DataRootError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Absolute, empty, or holding NUL.
        case invalidPath
        /// Nothing at that path.
        case notFound
        /// A directory, FIFO, device or socket.
        case notAFile
        /// No permission to read it.
        case unreadable
        /// It leads outside the root (`..`, or a symbolic link out of it).
        case escapesRoot
        /// Any other failure of the file system.
        case io
    }

    public var code: Code
    /// The path as given.
    public var path: String
    public var reason: String

    public init(_ code: Code, path: String, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    /// `path: reason`.
    public var description: String { "\(path): \(reason)" }
}
