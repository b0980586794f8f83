// Includes every expert layer and the registry: the one header for code that builds mixtures.
#pragma once
#include "layers/experts/cod_edge.h"
#include "layers/experts/cod_hybrid.h"
#include "layers/experts/cod_texture.h"
#include "layers/experts/expert_options.h"
#include "layers/experts/generic_context.h"
#include "layers/experts/generic_contrast.h"
#include "layers/experts/generic_frequency.h"
#include "layers/experts/generic_texture.h"
#include "layers/experts/registry.h"
