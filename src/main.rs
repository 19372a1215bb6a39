fn main() {
    release_large_buffers_to_the_system();
    if let Err(error) = radial::cli::main() {
        eprintln!("error: {error}");
        for cause in error.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

/// glibc raises its mmap threshold each time a large block is freed, so the
/// next volume-sized buffers (a decoded file, a label map) land in the heap,
/// where freeing them does not lower the resident size: reading a 16 M-voxel
/// CT then peaks about 45 MB higher than the live data. A fixed threshold
/// keeps every buffer of 16 MB or more in its own mapping, returned on free;
/// smaller ones (texture matrices) keep the fast heap path.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_large_buffers_to_the_system() {
    const M_MMAP_THRESHOLD: i32 = -3;
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    // SAFETY: mallopt only changes allocator parameters; it is called
    // before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_large_buffers_to_the_system() {}
