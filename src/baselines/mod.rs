//! Independent answers the neural-TI free energies are checked against: Widom insertion
//! (on the device, [`crate::md::widom`]), standard λ-window thermodynamic integration with
//! MBAR ([`lambda_ti`], [`mbar`]), published equations of state of the full Lennard-Jones
//! fluid ([`eos`]), and the exact two-particle free energy ([`two_body`]).

pub mod eos;
pub mod lambda_ti;
pub mod mbar;
pub mod two_body;
