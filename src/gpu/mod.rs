//! GPU context: adapter selection, device creation, typed buffers, kernel families.
//!
//! [`Gpu::new`] picks an adapter headlessly from every backend wgpu offers (Vulkan, Metal,
//! DX12, GL as last resort), optionally filtered by `--adapter <substring>` and
//! `--backend <name>`. Without any adapter it returns [`Error::NoAdapter`] saying what to
//! install instead of panicking.

pub mod buffers;
pub mod footprint;
pub mod kernel;
pub mod shader;

use crate::error::{Error, Result};
use serde::Serialize;

/// How to choose the adapter.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter name (e.g. "llvmpipe", "nvidia").
    pub adapter: Option<String>,
    /// Backend name: vulkan, metal, dx12, gl (or a comma list).
    pub backend: Option<String>,
    /// Request `TIMESTAMP_QUERY` when the adapter offers it (benchmarks); off by default.
    pub timestamps: bool,
}

/// The adapter's identity as written to results files.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterSummary {
    /// Adapter name, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)".
    pub name: String,
    /// Backend: Vulkan, Metal, Dx12, Gl.
    pub backend: String,
    /// Driver name.
    pub driver: String,
    /// Driver version string.
    pub driver_info: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.
    pub device_type: String,
    /// PCI vendor id.
    pub vendor: u32,
}

impl AdapterSummary {
    fn from_info(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            device_type: format!("{:?}", info.device_type),
            vendor: info.vendor,
        }
    }
}

/// A device and queue on the chosen adapter.
pub struct Gpu {
    /// The wgpu device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// Which adapter this is.
    pub adapter: AdapterSummary,
    /// Limits the device was created with (the adapter's own).
    pub limits: wgpu::Limits,
}

/// Parses a backend name (`vulkan`, `metal`, `dx12`, `gl`, comma lists allowed).
pub fn parse_backends(name: &str) -> Result<wgpu::Backends> {
    let mut backends = wgpu::Backends::empty();
    for part in name.split(',') {
        backends |= match part.trim().to_ascii_lowercase().as_str() {
            "vulkan" | "vk" => wgpu::Backends::VULKAN,
            "metal" | "mtl" => wgpu::Backends::METAL,
            "dx12" | "d3d12" => wgpu::Backends::DX12,
            "gl" | "gles" | "opengl" => wgpu::Backends::GL,
            "all" => wgpu::Backends::all(),
            other => {
                return Err(Error::Device(format!(
                "unknown backend `{other}`; use one of vulkan, metal, dx12, gl (or a comma list)"
            )))
            }
        };
    }
    Ok(backends)
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

fn device_rank(info: &wgpu::AdapterInfo) -> (u32, u32) {
    let kind = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (backend, kind)
}

fn no_adapter_hint() -> String {
    if cfg!(target_os = "linux") {
        "On Linux without a GPU driver install Mesa's software Vulkan driver: \
         `sudo apt-get install mesa-vulkan-drivers` (Debian/Ubuntu; or run \
         scripts/install-vulkan-driver.sh), `dnf install mesa-vulkan-drivers` (Fedora). \
         With a GPU, install its vendor's Vulkan driver."
            .into()
    } else if cfg!(target_os = "macos") {
        "Metal should always be available on macOS 10.13+; check `--backend` is not excluding it."
            .into()
    } else {
        "Install or update your GPU driver (DX12 or Vulkan).".into()
    }
}

/// Every adapter wgpu can see on the given backends (all if `None`).
pub fn enumerate_adapters(backends: Option<wgpu::Backends>) -> Vec<wgpu::Adapter> {
    let instance = instance(backends.unwrap_or(wgpu::Backends::all()));
    pollster::block_on(instance.enumerate_adapters(backends.unwrap_or(wgpu::Backends::all())))
}

/// The optional features `nti-gpu info` reports (none is required).
const OPTIONAL_FEATURES: [(&str, wgpu::Features); 4] = [
    ("TIMESTAMP_QUERY", wgpu::Features::TIMESTAMP_QUERY),
    ("SHADER_F64", wgpu::Features::SHADER_F64),
    ("SUBGROUP", wgpu::Features::SUBGROUP),
    ("SHADER_F16", wgpu::Features::SHADER_F16),
];

/// What [`describe_adapter`] says, as JSON for `nti-gpu info --json`: the identity of
/// [`AdapterSummary`] with the device id, the limits nti-gpu depends on (bytes and counts)
/// and whether each optional feature is offered.
pub fn adapter_json(adapter: &wgpu::Adapter) -> serde_json::Value {
    let info = adapter.get_info();
    let l = adapter.limits();
    let f = adapter.features();
    let mut v = serde_json::to_value(AdapterSummary::from_info(&info)).unwrap_or_default();
    v["device"] = serde_json::json!(info.device);
    v["limits"] = serde_json::json!({
        "max_storage_buffer_binding_size": l.max_storage_buffer_binding_size,
        "max_buffer_size": l.max_buffer_size,
        "max_storage_buffers_per_shader_stage": l.max_storage_buffers_per_shader_stage,
        "max_compute_workgroup_storage_size": l.max_compute_workgroup_storage_size,
        "max_compute_invocations_per_workgroup": l.max_compute_invocations_per_workgroup,
        "max_compute_workgroups_per_dimension": l.max_compute_workgroups_per_dimension,
    });
    v["optional_features"] = OPTIONAL_FEATURES
        .iter()
        .map(|(n, flag)| (n.to_string(), serde_json::json!(f.contains(*flag))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    v
}

/// Limits and features of an adapter relevant to nti-gpu, for `nti-gpu info`.
pub fn describe_adapter(adapter: &wgpu::Adapter) -> String {
    let info = adapter.get_info();
    let l = adapter.limits();
    let f = adapter.features();
    let mut s = String::new();
    s.push_str(&format!(
        "{}\n  backend: {:?}   type: {:?}   vendor: 0x{:04x}   device: 0x{:04x}\n  driver: {} {}\n",
        info.name,
        info.backend,
        info.device_type,
        info.vendor,
        info.device,
        info.driver,
        info.driver_info
    ));
    s.push_str(&format!(
        "  limits: max_storage_buffer_binding_size {} MiB, max_buffer_size {} MiB, storage buffers/stage {}, \
         workgroup storage {} KiB, invocations/workgroup {}, workgroups/dim {}\n",
        l.max_storage_buffer_binding_size >> 20,
        l.max_buffer_size >> 20,
        l.max_storage_buffers_per_shader_stage,
        l.max_compute_workgroup_storage_size >> 10,
        l.max_compute_invocations_per_workgroup,
        l.max_compute_workgroups_per_dimension,
    ));
    let names: Vec<String> = OPTIONAL_FEATURES
        .iter()
        .map(|(n, flag)| format!("{n}:{}", if f.contains(*flag) { "yes" } else { "no" }))
        .collect();
    s.push_str(&format!(
        "  optional features (none required): {}\n",
        names.join(" ")
    ));
    s
}

/// Storage buffers per stage that our kernels need at most.
pub const REQUIRED_STORAGE_BUFFERS: u32 = 10;

impl Gpu {
    /// Items per invocation of a kernel that reuses every value it loads across several
    /// items held in registers: `cpu` on CPU adapters (which load a shared address lane by
    /// lane), 1 on GPUs; the environment variable `var`, when it holds a value in 1..=`max`,
    /// overrides both.
    pub fn items_per_invocation(&self, cpu: u32, var: &str, max: u32) -> u32 {
        let default = if self.adapter.device_type == "Cpu" {
            cpu
        } else {
            1
        };
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|v: &u32| (1..=max).contains(v))
            .unwrap_or(default)
    }

    /// Chooses an adapter and creates a device on it.
    pub fn new(options: &GpuOptions) -> Result<Gpu> {
        let backends = match &options.backend {
            Some(b) => parse_backends(b)?,
            None => wgpu::Backends::all(),
        };
        let mut adapters = enumerate_adapters(Some(backends));
        // The names of every adapter seen, for the hint when the filter leaves none.
        let mut seen: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        seen.sort();
        seen.dedup();
        let filter = options.adapter.as_ref().map(|s| s.to_ascii_lowercase());
        if let Some(f) = &filter {
            adapters.retain(|a| a.get_info().name.to_ascii_lowercase().contains(f.as_str()));
        }
        adapters.sort_by_key(|a| device_rank(&a.get_info()));
        let adapter = adapters.into_iter().next().ok_or_else(|| {
            let mut what = String::new();
            if let Some(f) = &options.adapter {
                what.push_str(&format!(" matching `{f}`"));
            }
            if let Some(b) = &options.backend {
                what.push_str(&format!(" on backend `{b}`"));
            }
            Error::NoAdapter {
                filter: what,
                hint: if seen.is_empty() {
                    no_adapter_hint()
                } else {
                    format!(
                        "The adapters seen are: {}; `--adapter` matches a part of one of \
                         these names (case-insensitive).",
                        seen.join(", ")
                    )
                },
            }
        })?;
        Self::create(adapter, options.timestamps)
    }

    /// Creates a device on a given adapter.
    pub fn from_adapter(adapter: wgpu::Adapter) -> Result<Gpu> {
        Self::create(adapter, false)
    }

    fn create(adapter: wgpu::Adapter, timestamps: bool) -> Result<Gpu> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        if limits.max_storage_buffers_per_shader_stage < REQUIRED_STORAGE_BUFFERS {
            return Err(Error::Device(format!(
                "adapter `{}` offers {} storage buffers per shader stage; nti-gpu needs {}",
                info.name, limits.max_storage_buffers_per_shader_stage, REQUIRED_STORAGE_BUFFERS
            )));
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("nti-gpu"),
            required_features: adapter.features()
                & if timestamps {
                    wgpu::Features::TIMESTAMP_QUERY
                } else {
                    wgpu::Features::empty()
                },
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::Device(format!("request_device on `{}`: {e}", info.name)))?;
        Ok(Gpu {
            device,
            queue,
            adapter: AdapterSummary::from_info(&info),
            limits,
        })
    }

    /// Blocks until all submitted work has finished.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Device(format!("poll: {e}")))
    }
}
