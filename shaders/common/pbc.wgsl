// Periodic boundary conditions in a cubic box of side `box_length` (inverse `inv_box`).
// Shared include: no bindings.

// Minimum-image separation vector.
fn minimum_image(d: vec3<f32>, box_length: f32, inv_box: f32) -> vec3<f32> {
    return d - box_length * round(d * inv_box);
}

// Wraps a position into [0, box_length)^3.
fn wrap_position(x: vec3<f32>, box_length: f32, inv_box: f32) -> vec3<f32> {
    let y = x - box_length * floor(x * inv_box);
    // floor can leave y == box_length when x is a tiny negative number.
    return select(y, vec3<f32>(0.0), y >= vec3<f32>(box_length));
}

// True when any component is NaN or infinite (bit test: survives fast-math compilers).
fn not_finite3(v: vec3<f32>) -> bool {
    let e = bitcast<vec3<u32>>(v) & vec3<u32>(0x7f800000u);
    return any(e == vec3<u32>(0x7f800000u));
}

fn not_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}
