fn main() {
    release_large_buffers_to_the_system();
    report_print_failures_as_errors();
    if let Err(error) = radial::cli::main() {
        if radial::cli::out::is_broken_pipe(error.as_ref()) {
            exit_for_closed_pipe();
        }
        eprintln!("error: {error}");
        for cause in error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

/// The reader of our standard output went away (`radial status | head -1`):
/// stop quietly with the status a process killed by SIGPIPE has, as other
/// Unix tools do (Rust ignores SIGPIPE, so the write returned EPIPE instead).
fn exit_for_closed_pipe() -> ! {
    std::process::exit(128 + 13)
}

/// A last line of defence for output still written with `println!`, which
/// panics (exit 101, a backtrace hint) when standard output cannot be written
/// (`> /dev/full`): such a failure is reported as the ordinary error it is.
/// Every other panic keeps the default report.
fn report_print_failures_as_errors() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if let Some(cause) = message.strip_prefix("failed printing to stdout: ") {
            if cause.contains("Broken pipe") {
                exit_for_closed_pipe();
            }
            eprintln!("error: {}: {cause}", radial::cli::out::STDOUT_NAME);
            std::process::exit(1);
        }
        default(info);
    }));
}
/// glibc raises its mmap threshold each time a large block is freed, so the
/// next volume-sized buffers (a decoded file, a label map) land in the heap,
/// where freeing them does not lower the resident size: reading a 16 M-voxel
/// CT then peaks about 45 MB higher than the live data. A fixed threshold
/// keeps every buffer of 16 MB or more in its own mapping, returned on free;
/// smaller ones (texture matrices) keep the fast heap path.
///
/// Fixing the mmap threshold also stops glibc's matching rule for the trim
/// threshold (twice the mmap threshold), which falls back to 128 KB: every
/// freed buffer at the top of a heap then goes back to the kernel, and the
/// next one of the same size faults in fresh zeroed pages (a sixth of the
/// CPU of a PyRadiomics-mode extraction went to the kernel). The trim
/// threshold is set to twice the mmap threshold, as glibc's own rule would.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_large_buffers_to_the_system() {
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    const MMAP_THRESHOLD: i32 = 16 << 20;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only changes allocator parameters; it is called
    // before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_large_buffers_to_the_system() {}
