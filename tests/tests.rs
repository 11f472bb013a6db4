mod spec_errors;
