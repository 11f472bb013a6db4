mod aws_read;
mod cli;
mod moto;
