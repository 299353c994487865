// BAOAB Langevin integrator (Leimkuhler & Matthews 2013), split around the force
// evaluation:
//   integrate_baoa:   v += dt/2 F/m;  x += dt/2 v;  v = c1 v + c2 xi;  x += dt/2 v;  wrap x
//                     and raise control.rebuild when |x - x_ref| > skin/2 (minimum image).
//   integrate_b:      v += dt/2 F/m  (F at the new positions): the end of a step.
//   integrate_b_baoa: integrate_b of one step fused with integrate_baoa of the next (one
//                     pass over memory instead of two between consecutive steps).
// control.step is advanced by step_control (cell_list.wgsl) after each integrate_baoa.
// xi ~ N(0, 1)^3 from Philox4x32-10 with counter (i, step, 0, 0) and key (seed_lo, seed_hi).
// Friction 0 (c1 = 1, c2 = 0) is velocity Verlet (NVE).
// Dispatch: (ceil(total / 64), 1, 1) workgroups of 64 for both.

#import md_types
#import pbc
#import rng

@group(0) @binding(0) var<uniform> params: SimParams;
@group(0) @binding(1) var<storage, read_write> pos: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> vel: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> force: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> control: Control;
@group(0) @binding(5) var<storage, read> pos_ref: array<vec4<f32>>;

fn baoa(i: u32, v_in: vec3<f32>, f: vec3<f32>) {
    let half_dt = 0.5 * params.dt;
    var v = v_in + half_dt * params.inv_mass * f;
    var x = pos[i].xyz + half_dt * v;
    if (params.c2 > 0.0) {
        let bits = philox4x32_10(vec4<u32>(i, control.step, 0u, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
        v = params.c1 * v + params.c2 * gaussian3(bits);
    } else {
        v = params.c1 * v;
    }
    x = wrap_position(x + half_dt * v, params.box_length, params.inv_box);
    pos[i] = vec4<f32>(x, 0.0);
    vel[i] = vec4<f32>(v, 0.0);
    let d = minimum_image(x - pos_ref[i].xyz, params.box_length, params.inv_box);
    if (dot(d, d) > params.half_skin2) {
        atomicStore(&control.rebuild, 1u);
    }
    if (not_finite3(x)) {
        atomicOr(&control.status, STATUS_NOT_FINITE);
    }
}

@compute @workgroup_size(64)
fn integrate_baoa(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total) {
        return;
    }
    baoa(i, vel[i].xyz, force[i].xyz);
}

@compute @workgroup_size(64)
fn integrate_b_baoa(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total) {
        return;
    }
    let f = force[i].xyz;
    baoa(i, vel[i].xyz + 0.5 * params.dt * params.inv_mass * f, f);
}

@compute @workgroup_size(64)
fn integrate_b(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= params.total) {
        return;
    }
    let v = vel[i].xyz + 0.5 * params.dt * params.inv_mass * force[i].xyz;
    vel[i] = vec4<f32>(v, 0.0);
}
