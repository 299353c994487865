//! Timed compute passes: wall clock (device synchronised before and after) and, where the
//! device was created with `TIMESTAMP_QUERY` ([`crate::gpu::GpuOptions::timestamps`]),
//! device time from the pass's beginning and end timestamps.

use crate::error::Result;
use crate::gpu::Gpu;
use std::time::Instant;

/// True when the device can write timestamps at pass boundaries.
pub fn has_timestamps(gpu: &Gpu) -> bool {
    gpu.device
        .features()
        .contains(wgpu::Features::TIMESTAMP_QUERY)
}

/// Two timestamp queries (pass begin, pass end) and their resolve buffer.
pub struct PassTimer {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    period_ns: f64,
}

impl PassTimer {
    /// `None` when the device lacks `TIMESTAMP_QUERY`.
    pub fn new(gpu: &Gpu) -> Option<PassTimer> {
        if !has_timestamps(gpu) {
            return None;
        }
        let set = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("bench timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bench timestamps resolve"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(PassTimer {
            set,
            resolve,
            period_ns: gpu.queue.get_timestamp_period() as f64,
        })
    }
}

/// Seconds of one timed pass.
#[derive(Clone, Copy, Debug)]
pub struct PassTime {
    /// Wall seconds from submission to completion (queue drained before the clock starts).
    pub wall: f64,
    /// Device seconds between the pass's begin and end timestamps.
    pub gpu: Option<f64>,
}

/// Records `record` into one compute pass (with timestamps when `timer` is given), submits
/// it and waits; the clock starts after all earlier work has finished.
pub fn timed_pass(
    gpu: &Gpu,
    timer: Option<&PassTimer>,
    record: impl FnOnce(&mut wgpu::ComputePass<'_>),
) -> Result<PassTime> {
    gpu.wait()?;
    let t = Instant::now();
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("bench"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("bench"),
            timestamp_writes: timer.map(|tm| wgpu::ComputePassTimestampWrites {
                query_set: &tm.set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        record(&mut pass);
    }
    if let Some(tm) = timer {
        encoder.resolve_query_set(&tm.set, 0..2, &tm.resolve, 0);
    }
    gpu.queue.submit([encoder.finish()]);
    gpu.wait()?;
    let wall = t.elapsed().as_secs_f64();
    let gpu_s = match timer {
        Some(tm) => {
            let ticks = gpu.read::<u64>(&tm.resolve, 0, 2)?;
            Some(ticks[1].wrapping_sub(ticks[0]) as f64 * tm.period_ns * 1e-9)
        }
        None => None,
    };
    Ok(PassTime { wall, gpu: gpu_s })
}
